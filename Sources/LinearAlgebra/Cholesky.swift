#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinearAlgebra

/// The Cholesky factor A = L Lᵀ of a symmetric positive-definite matrix (LAPACK `dpotrf`),
/// with solves (`dpotrs`), the inverse (`dpotri`) and the log-determinant.
///
/// It is how fitted models turn a Hessian into standard errors and how Newton steps are
/// solved: a matrix that is not positive definite (a saddle point, a flat direction) fails
/// here with the column where it shows, rather than giving a meaningless inverse.
public struct Cholesky: Sendable {
    /// L in the lower triangle (the upper triangle holds the input's, unused).
    public let factor: Matrix

    public init(factoring a: Matrix) throws {
        guard a.isSquare else {
            throw LinearAlgebraError.dimensionMismatch("Cholesky needs a square matrix, got \(a.rows)×\(a.columns)")
        }
        var l = a
        let n = a.rows
        let info = l.withUnsafeMutableBufferPointer { buffer, lda in
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, lower, Int32(n), buffer.baseAddress, Int32(lda))
        }
        try LinearAlgebraError.check(info, "dpotrf") { .notPositiveDefinite(column: $0) }
        factor = l
    }

    public var dimension: Int { factor.rows }

    /// X with A X = B.
    public func solve(_ b: Matrix) throws -> Matrix {
        guard b.rows == dimension else {
            throw LinearAlgebraError.dimensionMismatch("solve: A is \(dimension)×\(dimension), B has \(b.rows) rows")
        }
        var x = b
        let info = factor.withUnsafeBufferPointer { l, lda in
            x.withUnsafeMutableBufferPointer { xv, ldb in
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, lower, Int32(dimension), Int32(b.columns), l.baseAddress, Int32(lda),
                               xv.baseAddress, Int32(ldb))
            }
        }
        try LinearAlgebraError.check(info, "dpotrs") { .singular(column: $0) }
        return x
    }

    /// x with A x = b.
    public func solve(_ b: [Double]) throws -> [Double] {
        try solve(Matrix(rows: b.count, columns: 1, columnMajor: b)).elements
    }

    /// A⁻¹, as a full symmetric matrix.
    public func inverse() throws -> Matrix {
        var inverse = factor
        let n = dimension
        let info = inverse.withUnsafeMutableBufferPointer { buffer, lda in
            LAPACKE_dpotri(LAPACK_COL_MAJOR, lower, Int32(n), buffer.baseAddress, Int32(lda))
        }
        try LinearAlgebraError.check(info, "dpotri") { .singular(column: $0) }
        inverse.mirrorLowerTriangle()
        return inverse
    }

    /// log det A = 2 Σ log Lᵢᵢ, without forming the determinant (which overflows easily).
    public var logDeterminant: Double {
        (0..<dimension).reduce(0) { $0 + 2 * log(factor[$1, $1]) }
    }
}

let lower = CChar(UInt8(ascii: "L"))
