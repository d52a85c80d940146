/// Why a clustering could not be computed: each case says what was wrong and where.
public enum ClusteringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A value that is NaN or infinite, at a 1-based row and a named feature.
    case nonFiniteValue(row: Int, feature: String, value: Double)
    /// A sample weight that is negative, NaN or infinite, at a 1-based row.
    case invalidWeight(row: Int, value: Double)
    /// Sample weights given, and none of the rows' is above 0: no k would do.
    case noPositiveWeight(rows: Int)
    /// Fewer points (with positive weight) than clusters asked for.
    case tooFewPoints(points: Int, k: Int)
    /// Fewer distinct points (with positive weight) than clusters asked for.
    case tooFewDistinctPoints(distinct: Int, k: Int)
    /// Options out of range, or data of the wrong shape.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .nonFiniteValue(let row, let feature, let value):
            return "row \(row), feature \"\(feature)\": \(value) is not a finite number"
        case .invalidWeight(let row, let value):
            return "row \(row): sample weight \(value) is not a finite number ≥ 0"
        case .noPositiveWeight(let rows):
            return "no row has a positive sample weight (all \(rows) are 0): give some rows a weight above 0"
        case .tooFewPoints(let points, let k):
            return "\(points) points cannot form \(k) clusters: ask for k ≤ \(points)"
        case .tooFewDistinctPoints(let distinct, let k):
            return "only \(distinct) distinct points, fewer than k = \(k): ask for k ≤ \(distinct)"
        case .invalidArgument(let message):
            return message
        }
    }
}
