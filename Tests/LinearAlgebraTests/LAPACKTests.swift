import Foundation
import Testing
@testable import LinearAlgebra

@Suite struct LAPACKTests {
    @Test func choleskyFactorSolveInverseAndDeterminantMatchNumpy() throws {
        let cholesky = try Cholesky(factoring: spd)
        // numpy: np.linalg.cholesky(A)
        let l = [[2.0, 0, 0], [1, 2, 0], [0.3, 0.6, 1.5968719422671311]]
        for i in 0..<3 {
            for j in 0...i { #expect(isClose(cholesky.factor[i, j], l[i][j]), "L[\(i),\(j)]") }
        }
        // numpy: np.linalg.solve(A, [1, 2, 3])
        #expect(isClose(try cholesky.solve([1, 2, 3]), [0.0625, 0.09264705882352936, 0.9411764705882355]))
        // numpy: np.linalg.inv(A)
        let inverse = Matrix([[0.3125, -0.125, 0], [-0.125, 0.2852941176470588, -0.11764705882352942],
                              [0, -0.11764705882352942, 0.3921568627450981]])
        #expect(isClose(try cholesky.inverse(), inverse))
        // numpy: np.linalg.slogdet(A)
        #expect(isClose(cholesky.logDeterminant, 3.708682081410116))
        #expect(isClose(spd * (try cholesky.inverse()), Matrix.identity(3)))
    }

    @Test func notPositiveDefiniteNamesTheColumn() {
        let indefinite = Matrix([[4, 2, 0], [2, 1, 0], [0, 0, 1]])
        #expect(throws: LinearAlgebraError.notPositiveDefinite(column: 2)) { try Cholesky(factoring: indefinite) }
        #expect("\(LinearAlgebraError.notPositiveDefinite(column: 3))" == "matrix is not positive definite at column 3")
        #expect(throws: LinearAlgebraError.self) { try Cholesky(factoring: Matrix(rows: 2, columns: 3)) }
    }

    @Test func eigendecompositionReconstructsTheMatrix() throws {
        let (values, vectors) = try symmetricEigen(spd)
        // numpy: np.linalg.eigh(A)[0]
        #expect(isClose(values, [2.0045845125687465, 2.8474199084736522, 7.1479955789576035], 1e-12))
        var lambda = Matrix(rows: 3, columns: 3)
        for i in 0..<3 { lambda[i, i] = values[i] }
        #expect(isClose(vectors * lambda * vectors.transposed(), spd, 1e-12))
        #expect(isClose(vectors.transposed() * vectors, Matrix.identity(3), 1e-12))
    }

    @Test func leastSquaresMatchesTheNormalEquations() throws {
        let x = Matrix([[1, 1], [1, 2], [1, 3], [1, 4]])
        let y: [Double] = [6, 5, 7, 10]
        // numpy: np.linalg.lstsq(X, y)[0]
        let fit = try leastSquares(x, y)
        #expect(isClose(fit, [3.5, 1.4], 1e-12))
        var gram = Matrix(rows: 2, columns: 2)
        try BLAS.syrk(x, transposed: true, into: &gram)
        let normal = try Cholesky(factoring: gram).solve(BLAS.gemv(x, transposed: true, y))
        #expect(isClose(fit, normal, 1e-12))
        #expect(throws: LinearAlgebraError.self) { try leastSquares(Matrix(rows: 1, columns: 2), [1]) }
    }

    @Test func singularLeastSquaresIsReported() {
        // A zero column leaves an exact zero on R's diagonal, whatever the BLAS.
        let rankDeficient = Matrix([[1, 0], [2, 0], [3, 0]])
        #expect(throws: LinearAlgebraError.singular(column: 2)) { try leastSquares(rankDeficient, [1, 2, 3]) }
    }

    @Test func loadedBLASIsReported() {
        let description = BLASLibrary.description
        #expect(!BLASLibrary.loadedFiles.isEmpty)
        if BLASLibrary.isOpenBLAS {
            #expect(description.hasPrefix("OpenBLAS"))
        } else {
            #expect(description.hasPrefix("reference BLAS"))
        }
    }

    /// OpenBLAS 0.3.21 takes CPUs newer than it knows for a Prescott (SSE3 kernels); Clientele
    /// then asks for the kernels the CPU's flags allow, and only then.
    @Test func aGenericOpenBLASCoreIsReplacedByOneTheCPUCanRun() {
        let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        #expect(BLASLibrary.betterCoreType(chosen: "Prescott", cpuFlags: avx512, requested: nil) == "SkylakeX")
        #expect(BLASLibrary.betterCoreType(chosen: "Prescott", cpuFlags: ["sse3", "avx", "avx2", "fma"], requested: nil) == "Haswell")
        #expect(BLASLibrary.betterCoreType(chosen: "Prescott", cpuFlags: ["sse3", "avx", "avx2"], requested: nil) == nil)
        #expect(BLASLibrary.betterCoreType(chosen: "Prescott", cpuFlags: avx512.subtracting(["avx512vl", "fma"]), requested: nil) == nil)
        #expect(BLASLibrary.betterCoreType(chosen: "Haswell", cpuFlags: avx512, requested: nil) == nil)
        #expect(BLASLibrary.betterCoreType(chosen: "Prescott", cpuFlags: avx512, requested: "Prescott") == nil)
        #expect(BLASLibrary.betterCoreType(chosen: nil, cpuFlags: avx512, requested: nil) == nil)
        if BLASLibrary.isOpenBLAS { #expect(BLASLibrary.coreName?.isEmpty == false) } else { #expect(BLASLibrary.coreName == nil) }
        #expect(BLASLibrary.cpuFlags.isEmpty == !FileManager.default.fileExists(atPath: "/proc/cpuinfo"))
    }
}
