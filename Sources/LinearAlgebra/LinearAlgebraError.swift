/// Why a BLAS or LAPACK computation could not be done, in the words of the mathematics.
///
/// LAPACK reports problems through `info`: negative for an illegal argument (a bug in the
/// caller, reported with the routine and the argument's position), positive for a property
/// of the matrix (1-based, as LAPACK counts).
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The leading minor of this order is not positive definite (`potrf`).
    case notPositiveDefinite(column: Int)
    /// A zero pivot: the matrix is singular at this column (`potri`, `gels`).
    case singular(column: Int)
    /// The eigenvalue iteration failed to converge (`syevd`).
    case noConvergence(routine: String, offDiagonal: Int)
    /// An argument LAPACK refused, by 1-based position.
    case illegalArgument(routine: String, position: Int)
    /// Shapes that do not fit together.
    case dimensionMismatch(String)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let column):
            return "matrix is not positive definite at column \(column)"
        case .singular(let column):
            return "matrix is singular: zero pivot at column \(column)"
        case .noConvergence(let routine, let count):
            return "\(routine): the eigenvalue iteration did not converge (\(count) off-diagonal elements did not reach zero)"
        case .illegalArgument(let routine, let position):
            return "\(routine): argument \(position) is illegal"
        case .dimensionMismatch(let message):
            return "dimension mismatch: \(message)"
        }
    }

    /// Throws for a LAPACK `info` with the meaning a positive value has for that routine.
    static func check(_ info: Int32, _ routine: String, positive: (Int) -> LinearAlgebraError) throws {
        if info < 0 { throw LinearAlgebraError.illegalArgument(routine: routine, position: Int(-info)) }
        if info > 0 { throw positive(Int(info)) }
    }
}
