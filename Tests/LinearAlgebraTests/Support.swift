@testable import LinearAlgebra

func isClose(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(a), abs(b))
}

func isClose(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { isClose($0, $1, tolerance) }
}

func isClose(_ a: Matrix, _ b: Matrix, _ tolerance: Double = 1e-12) -> Bool {
    a.rows == b.rows && a.columns == b.columns && isClose(a.elements, b.elements, tolerance)
}

/// A symmetric positive-definite matrix used across the tests.
let spd = Matrix([[4, 2, 0.6], [2, 5, 1.5], [0.6, 1.5, 3]])
