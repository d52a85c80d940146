import CLinearAlgebra

/// The eigenvalues (ascending) and orthonormal eigenvectors (as columns) of a symmetric
/// matrix, by LAPACK's divide and conquer (`dsyevd`). Only the lower triangle is read.
public func symmetricEigen(_ a: Matrix) throws -> (values: [Double], vectors: Matrix) {
    guard a.isSquare else {
        throw LinearAlgebraError.dimensionMismatch("eigendecomposition needs a square matrix, got \(a.rows)×\(a.columns)")
    }
    var vectors = a
    var values = [Double](repeating: 0, count: a.rows)
    let n = a.rows
    let info = vectors.withUnsafeMutableBufferPointer { buffer, lda in
        values.withUnsafeMutableBufferPointer { w in
            LAPACKE_dsyevd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), lower, Int32(n), buffer.baseAddress, Int32(lda), w.baseAddress)
        }
    }
    try LinearAlgebraError.check(info, "dsyevd") { .noConvergence(routine: "dsyevd", offDiagonal: $0) }
    return (values, vectors)
}

/// The least-squares solution X of min ‖A X − B‖ for a full-rank A with at least as many
/// rows as columns, by QR (LAPACK `dgels`).
public func leastSquares(_ a: Matrix, _ b: Matrix) throws -> Matrix {
    guard a.rows == b.rows else {
        throw LinearAlgebraError.dimensionMismatch("least squares: A has \(a.rows) rows, B has \(b.rows)")
    }
    guard a.rows >= a.columns else {
        throw LinearAlgebraError.dimensionMismatch("least squares needs at least as many rows as columns, got \(a.rows)×\(a.columns)")
    }
    var qr = a
    var x = b
    let (m, n, k) = (a.rows, a.columns, b.columns)
    let info = qr.withUnsafeMutableBufferPointer { av, lda in
        x.withUnsafeMutableBufferPointer { bv, ldb in
            LAPACKE_dgels(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "N")), Int32(m), Int32(n), Int32(k),
                          av.baseAddress, Int32(lda), bv.baseAddress, Int32(ldb))
        }
    }
    try LinearAlgebraError.check(info, "dgels") { .singular(column: $0) }
    var solution = Matrix(rows: n, columns: k)
    for j in 0..<k {
        for i in 0..<n { solution[i, j] = x[i, j] }
    }
    return solution
}

/// The least-squares solution x of min ‖A x − b‖.
public func leastSquares(_ a: Matrix, _ b: [Double]) throws -> [Double] {
    try leastSquares(a, Matrix(rows: b.count, columns: 1, columnMajor: b)).elements
}
