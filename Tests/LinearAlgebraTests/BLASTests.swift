import Testing
@testable import LinearAlgebra

@Suite struct BLASTests {
    @Test func matrixIsColumnMajor() {
        let m = Matrix([[1, 2, 3], [4, 5, 6]])
        #expect(m.elements == [1, 4, 2, 5, 3, 6])
        #expect(m[1, 2] == 6)
        #expect(m.transposed() == Matrix([[1, 4], [2, 5], [3, 6]]))
        #expect(m.column(1) == [2, 5])
    }

    @Test func levelOneOperations() {
        #expect(BLAS.dot([1, 2, 3], [4, 5, 6]) == 32)
        var y: [Double] = [1, 1, 1]
        BLAS.axpy(2, [1, 2, 3], &y)
        #expect(y == [3, 5, 7])
        #expect(BLAS.nrm2([3, 4]) == 5)
        // dnrm2 scales: squaring 1e200 would overflow.
        #expect(isClose(BLAS.nrm2([3e200, 4e200]), 5e200))
        BLAS.scal(0.5, &y)
        #expect(y == [1.5, 2.5, 3.5])
    }

    @Test func gemvInBothOrientations() {
        let a = Matrix([[1, 2, 3], [4, 5, 6]])
        #expect(BLAS.gemv(a, [1, 0, -1]) == [-2, -2])
        #expect(BLAS.gemv(a, transposed: true, [1, 1]) == [5, 7, 9])
        var y: [Double] = [1, 1]
        BLAS.gemv(a, [1, 1, 1], into: &y, alpha: 2, beta: -1)
        #expect(y == [11, 29])
    }

    @Test func rankOneUpdates() {
        var a = Matrix(rows: 2, columns: 3)
        BLAS.ger(2, [1, 2], [1, 0, 3], &a)
        #expect(a == Matrix([[2, 0, 6], [4, 0, 12]]))
        var s = Matrix.identity(2)
        BLAS.syr(1, [1, 2], &s)
        #expect(s == Matrix([[2, 2], [2, 5]]))
    }

    @Test func gemmMatchesNumpy() throws {
        // numpy: np.array([[1,2,3],[4,5,6]]) @ np.array([[7,8],[9,10],[11,12]])
        let b = Matrix([[1, 2, 3], [4, 5, 6]])
        let c = Matrix([[7, 8], [9, 10], [11, 12]])
        #expect(b * c == Matrix([[58, 64], [139, 154]]))
        var product = Matrix(rows: 3, columns: 3)
        try BLAS.gemm(b, transposeA: true, b, into: &product)
        #expect(product == Matrix([[17, 22, 27], [22, 29, 36], [27, 36, 45]]))
        var wrong = Matrix(rows: 2, columns: 2)
        #expect(throws: LinearAlgebraError.dimensionMismatch("gemm: 2×3 times 2×3 into 2×2")) {
            try BLAS.gemm(b, b, into: &wrong)
        }
    }

    @Test func syrkGivesAFullSymmetricMatrix() throws {
        let b = Matrix([[1, 2, 3], [4, 5, 6]])
        var gram = Matrix(rows: 3, columns: 3)
        try BLAS.syrk(b, transposed: true, into: &gram)
        #expect(gram == Matrix([[17, 22, 27], [22, 29, 36], [27, 36, 45]]))
    }

    /// A block of rows inside a larger buffer, used in place through its leading dimension.
    @Test func rawGemmOnASubBlock() {
        // A 4×2 column-major buffer; rows 1…2 form the block [[2, 6], [3, 7]].
        let big: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        let centers: [Double] = [1, 0, 0, 1, 1, 1]  // 2×3: columns (1,0), (0,1), (1,1)
        var out = [Double](repeating: 0, count: 6)
        big.withUnsafeBufferPointer { a in
            centers.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 3, k: 2, alpha: 1,
                              a: a.baseAddress! + 1, lda: 4, b: b.baseAddress!, ldb: 2, beta: 0, c: c.baseAddress!, ldc: 2)
                }
            }
        }
        #expect(out == [2, 3, 6, 7, 8, 10])
    }

    /// The single-precision gemm on the same block, with α = −2 and β = 1 (C starts at ones):
    /// 1 − 2 × the products above.
    @Test func rawSingleGemmScalesAndAdds() {
        let big: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        let centers: [Float] = [1, 0, 0, 1, 1, 1]
        var out = [Float](repeating: 1, count: 6)
        big.withUnsafeBufferPointer { a in
            centers.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 3, k: 2, alpha: -2,
                              a: a.baseAddress! + 1, lda: 4, b: b.baseAddress!, ldb: 2, beta: 1, c: c.baseAddress!, ldc: 2)
                }
            }
        }
        #expect(out == [-3, -5, -11, -13, -15, -19])
    }
}
