import CLinearAlgebra

/// Thin wrappers over BLAS: each passes the caller's buffers straight through, no copies.
/// Vectors have unit stride. Level 1 works on any contiguous buffer; levels 2 and 3 on
/// `Matrix` or on raw column-major blocks of a larger buffer.
public enum BLAS {
    // MARK: Level 1

    /// xᵀy.
    @inlinable
    public static func dot(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) -> Double {
        precondition(x.count == y.count, "dot needs vectors of one length")
        return cblas_ddot(Int32(x.count), x.baseAddress, 1, y.baseAddress, 1)
    }

    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        x.withUnsafeBufferPointer { a in y.withUnsafeBufferPointer { b in dot(a, b) } }
    }

    /// y ← αx + y.
    public static func axpy(_ alpha: Double, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) {
        precondition(x.count == y.count, "axpy needs vectors of one length")
        cblas_daxpy(Int32(x.count), alpha, x.baseAddress, 1, y.baseAddress, 1)
    }

    public static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        x.withUnsafeBufferPointer { a in y.withUnsafeMutableBufferPointer { b in axpy(alpha, a, b) } }
    }

    /// ‖x‖₂, computed by BLAS with scaling that avoids overflow and underflow.
    public static func nrm2(_ x: UnsafeBufferPointer<Double>) -> Double {
        cblas_dnrm2(Int32(x.count), x.baseAddress, 1)
    }

    public static func nrm2(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { nrm2($0) }
    }

    /// x ← αx.
    public static func scal(_ alpha: Double, _ x: UnsafeMutableBufferPointer<Double>) {
        cblas_dscal(Int32(x.count), alpha, x.baseAddress, 1)
    }

    public static func scal(_ alpha: Double, _ x: inout [Double]) {
        x.withUnsafeMutableBufferPointer { scal(alpha, $0) }
    }

    // MARK: Level 2

    /// y ← α op(A) x + β y, with op(A) = A or Aᵀ.
    public static func gemv(_ a: Matrix, transposed: Bool = false, _ x: [Double], into y: inout [Double],
                            alpha: Double = 1, beta: Double = 0) {
        let (m, n) = transposed ? (a.columns, a.rows) : (a.rows, a.columns)
        precondition(x.count == n && y.count == m, "gemv: \(m)×\(n) needs x of \(n) and y of \(m)")
        a.withUnsafeBufferPointer { av, lda in
            x.withUnsafeBufferPointer { xv in
                y.withUnsafeMutableBufferPointer { yv in
                    cblas_dgemv(CblasColMajor, transposed ? CblasTrans : CblasNoTrans, Int32(a.rows), Int32(a.columns),
                                alpha, av.baseAddress, Int32(lda), xv.baseAddress, 1, beta, yv.baseAddress, 1)
                }
            }
        }
    }

    /// op(A) x.
    public static func gemv(_ a: Matrix, transposed: Bool = false, _ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: transposed ? a.columns : a.rows)
        gemv(a, transposed: transposed, x, into: &y)
        return y
    }

    /// A ← α x yᵀ + A (rank-1 update).
    public static func ger(_ alpha: Double, _ x: [Double], _ y: [Double], _ a: inout Matrix) {
        precondition(x.count == a.rows && y.count == a.columns, "ger: x and y must match A's shape")
        let (m, n) = (a.rows, a.columns)
        x.withUnsafeBufferPointer { xv in
            y.withUnsafeBufferPointer { yv in
                a.withUnsafeMutableBufferPointer { av, lda in
                    cblas_dger(CblasColMajor, Int32(m), Int32(n), alpha, xv.baseAddress, 1, yv.baseAddress, 1, av.baseAddress, Int32(lda))
                }
            }
        }
    }

    /// A ← α x xᵀ + A on the lower triangle, then mirrored, so A stays a full symmetric matrix.
    public static func syr(_ alpha: Double, _ x: [Double], _ a: inout Matrix) {
        precondition(a.isSquare && x.count == a.rows, "syr: A must be square and match x")
        let n = a.rows
        x.withUnsafeBufferPointer { xv in
            a.withUnsafeMutableBufferPointer { av, lda in
                cblas_dsyr(CblasColMajor, CblasLower, Int32(n), alpha, xv.baseAddress, 1, av.baseAddress, Int32(lda))
            }
        }
        a.mirrorLowerTriangle()
    }

    // MARK: Level 3

    /// C ← α op(A) op(B) + β C.
    public static func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                            into c: inout Matrix, alpha: Double = 1, beta: Double = 0) throws {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kb, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        guard k == kb, c.rows == m, c.columns == n else {
            throw LinearAlgebraError.dimensionMismatch("gemm: \(m)×\(k) times \(kb)×\(n) into \(c.rows)×\(c.columns)")
        }
        a.withUnsafeBufferPointer { av, lda in
            b.withUnsafeBufferPointer { bv, ldb in
                c.withUnsafeMutableBufferPointer { cv, ldc in
                    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                         a: av.baseAddress!, lda: lda, b: bv.baseAddress!, ldb: ldb, beta: beta, c: cv.baseAddress!, ldc: ldc)
                }
            }
        }
    }

    /// C ← α op(A) op(B) + β C on raw column-major blocks, each with its leading dimension,
    /// so that a block of rows of a larger matrix can be used in place.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_dgemm(CblasColMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same in single precision: C ← α op(A) op(B) + β C on raw column-major Float blocks.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasColMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C ← α op(A) op(A)ᵀ + β C for symmetric C (op(A) = A, or Aᵀ with `transposed`), mirrored
    /// to a full matrix.
    public static func syrk(_ a: Matrix, transposed: Bool = false, into c: inout Matrix,
                            alpha: Double = 1, beta: Double = 0) throws {
        let (n, k) = transposed ? (a.columns, a.rows) : (a.rows, a.columns)
        guard c.rows == n, c.columns == n else {
            throw LinearAlgebraError.dimensionMismatch("syrk: result must be \(n)×\(n), got \(c.rows)×\(c.columns)")
        }
        a.withUnsafeBufferPointer { av, lda in
            c.withUnsafeMutableBufferPointer { cv, ldc in
                cblas_dsyrk(CblasColMajor, CblasLower, transposed ? CblasTrans : CblasNoTrans, Int32(n), Int32(k),
                            alpha, av.baseAddress, Int32(lda), beta, cv.baseAddress, Int32(ldc))
            }
        }
        c.mirrorLowerTriangle()
    }
}

extension Matrix {
    /// A B.
    public static func * (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.columns == b.rows, "cannot multiply \(a.rows)×\(a.columns) by \(b.rows)×\(b.columns)")
        var c = Matrix(rows: a.rows, columns: b.columns)
        try! BLAS.gemm(a, b, into: &c)
        return c
    }

    /// Copies the lower triangle over the upper one.
    mutating func mirrorLowerTriangle() {
        let n = rows
        for j in 0..<n {
            for i in (j + 1)..<max(j + 1, n) { elements[j + i * n] = elements[i + j * n] }
        }
    }
}
