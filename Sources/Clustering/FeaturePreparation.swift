#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LinearAlgebra

/// Feature preparation before k-means: per feature a chain of transforms and a weight, fitted
/// on the data and kept, so that centroids found in the prepared space are reported back in
/// the original units.
///
/// Transforms, applied left to right:
/// - `log1p`: log(1 + x), for skewed counts and amounts; below 0, −log(1 − x), the mirror
///   image, so that a negative amount (a customer whose refunds outweigh the purchases) is
///   drawn in as far below 0 as the same amount above, where log(1 + x) would run to −∞ at −1
///   and is undefined past it;
/// - `zScore`: (x − mean) / sd, the population standard deviation (numpy's default);
/// - `robust`: (x − median) / IQR, quartiles interpolated linearly (numpy's default);
/// - `winsorize(lower, upper)`: x clipped to its `lower` and `upper` quantiles.
/// A constant feature has sd = IQR = 0; it is divided by 1 instead, which leaves it constant.
/// A weight w multiplies the prepared value by √w, so that the feature counts w times in the
/// squared distance. Going back (`originalUnits`) undoes each step in reverse; winsorizing has
/// no inverse and stays as clipped, which only matters for centroids beyond the clip points.
public enum FeatureTransform: Sendable, Equatable, Codable, CustomStringConvertible {
    case log1p
    case zScore
    case robust
    case winsorize(lower: Double, upper: Double)

    /// Reads `log1p`, `zscore`, `robust` or `winsorize:LOWER:UPPER` (quantiles in [0, 1]).
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: ":").map(String.init)
        switch parts.first {
        case "log1p": self = .log1p
        case "zscore", "z-score": self = .zScore
        case "robust": self = .robust
        case "winsorize", "winsorise":
            guard parts.count == 3, let lower = Double(parts[1]), let upper = Double(parts[2]),
                  lower >= 0, lower < upper, upper <= 1 else {
                throw ClusteringError.invalidArgument("\"\(text)\": write winsorize:LOWER:UPPER with quantiles 0 ≤ LOWER < UPPER ≤ 1")
            }
            self = .winsorize(lower: lower, upper: upper)
        default:
            throw ClusteringError.invalidArgument("\"\(text)\" is not a transform: use log1p, zscore, robust or winsorize:LOWER:UPPER")
        }
    }

    public var description: String {
        switch self {
        case .log1p: return "log1p"
        case .zScore: return "zscore"
        case .robust: return "robust"
        case .winsorize(let lower, let upper): return "winsorize:\(lower):\(upper)"
        }
    }
}

/// How one feature is prepared.
public struct FeatureSpecification: Sendable, Equatable, Codable {
    public var name: String
    public var transforms: [FeatureTransform]
    public var weight: Double

    public init(name: String, transforms: [FeatureTransform] = [], weight: Double = 1) {
        self.name = name
        self.transforms = transforms
        self.weight = weight
    }
}

/// One fitted step: the transform with the constants it learnt from the data.
public enum FittedFeatureStep: Sendable, Equatable, Codable {
    case log1p
    case scale(center: Double, spread: Double)
    case clip(lower: Double, upper: Double)
    case weight(Double)

    func apply(_ x: Double) -> Double {
        switch self {
        case .log1p: return x < 0 ? -logOnePlus(-x) : logOnePlus(x)
        case .scale(let center, let spread): return (x - center) / spread
        case .clip(let lower, let upper): return min(max(x, lower), upper)
        case .weight(let w): return x * w.squareRoot()
        }
    }

    func invert(_ y: Double) -> Double {
        switch self {
        case .log1p: return y < 0 ? -expm1(-y) : expm1(y)
        case .scale(let center, let spread): return y * spread + center
        case .clip: return y
        case .weight(let w): return y / w.squareRoot()
        }
    }
}

/// The fitted preparation of every feature.
public struct FeaturePreparation: Sendable, Equatable, Codable {
    public let featureNames: [String]
    public let steps: [[FittedFeatureStep]]

    /// Fits each feature's chain on its column, in order: a step sees the output of the one before.
    public init(fitting specifications: [FeatureSpecification], to columns: [[Double]]) throws {
        self = try Self.fitted(specifications, to: columns).preparation
    }

    /// The preparation fitted on `columns` and those columns prepared by it. A feature's chain
    /// ends with its prepared column, so nothing is transformed twice. Features go two at a
    /// time, side by side on the cores (a chain's steps, each fitted on the last one's output,
    /// cannot), and each pair's prepared columns are copied into the matrix and dropped before
    /// the next pair starts: beside the matrix, at most two prepared columns are ever alive,
    /// where keeping them all until the matrix was built doubled the memory this takes.
    public static func fitted(_ specifications: [FeatureSpecification], to columns: [[Double]]) throws
        -> (preparation: FeaturePreparation, data: FeatureMatrix) {
        guard specifications.count == columns.count else {
            throw ClusteringError.invalidArgument("\(specifications.count) feature specifications for \(columns.count) columns")
        }
        let n = columns.first?.count ?? 0, d = columns.count
        guard columns.allSatisfy({ $0.count == n }) else {
            throw ClusteringError.invalidArgument("feature columns differ in length")
        }
        // Large columns go side by side on the cores: a pair's two chains, then its copy, the
        // rows shared out in chunks so that no two threads write one row.
        let threads = n >= 100_000 ? nil : 1
        let rows = ChunkedWork(points: n, threads: threads)
        var steps: [[FittedFeatureStep]] = []
        let values = try [Double](unsafeUninitializedCapacity: n * d) { target, initialised in
            for first in stride(from: 0, to: d, by: 2) {
                let pair = first..<min(first + 2, d)
                var chains = [Result<(steps: [FittedFeatureStep], column: [Double]), any Error>?](repeating: nil, count: pair.count)
                chains.withUnsafeMutableBufferPointer { slots in
                    ChunkedWork(points: pair.count, threads: threads, pointsPerChunk: 1).forEachChunk { _, k, _ in
                        slots[k] = Result { try fitChain(specifications[first + k], columns[first + k]) }
                    }
                }
                let fitted = try chains.map { try $0!.get() }
                steps += fitted.map(\.steps)
                rows.forEachChunk { _, _, range in
                    for (k, chain) in fitted.enumerated() {
                        chain.column.withUnsafeBufferPointer { source in
                            for i in range { target[i * d + first + k] = source[i] }
                        }
                    }
                }
            }
            initialised = n * d
        }
        let preparation = FeaturePreparation(featureNames: specifications.map(\.name), steps: steps)
        return (preparation, try FeatureMatrix(featureNames: preparation.featureNames, rowMajor: values))
    }

    /// `fitted(_:to:)` for columns whose rows `known` groups, every row holding its group's
    /// first row's values (customers of one history and spend, in the columns computed from
    /// those), with the groups numbered in order of first appearance: the same preparation,
    /// to the bit (its means and deviations are summed over every row, in row order), and the
    /// prepared rows of the groups' first rows alone, row g for group g. Each value is
    /// transformed once per group, and no table of every row is made. nil when a row's value
    /// differs from its group's first row's, the groups are not in order, or a value is not
    /// finite: `fitted(_:to:)` then says what is wrong where it is.
    public static func fitted(_ specifications: [FeatureSpecification], to columns: [[Double]],
                              firstRowsOf known: DistinctRows) throws -> (preparation: FeaturePreparation, data: FeatureMatrix)? {
        let n = known.group.count, groups = known.count, d = columns.count
        guard specifications.count == d, d > 0, columns.allSatisfy({ $0.count == n }), known.numberedInOrder else { return nil }
        for column in columns {
            let holds = column.withUnsafeBufferPointer { column in known.group.withUnsafeBufferPointer { group in
                known.first.withUnsafeBufferPointer { first in
                    (0..<n).allSatisfy { i in
                        let value = column[i]
                        return value.isFinite && value.bitPattern == column[Int(first[Int(group[i])])].bitPattern
                    }
                }
            } }
            guard holds else { return nil }
        }
        var steps: [[FittedFeatureStep]] = []
        var values = [Double](repeating: 0, count: groups * d)
        for (j, specification) in specifications.enumerated() {
            let chain = try fitChain(specification, known.first.map { columns[j][Int($0)] }, rowsOf: known.group)
            steps.append(chain.steps)
            for g in 0..<groups { values[g * d + j] = chain.column[g] }
        }
        guard values.allSatisfy(\.isFinite) else { return nil }
        let preparation = FeaturePreparation(featureNames: specifications.map(\.name), steps: steps)
        return (preparation, try FeatureMatrix(featureNames: preparation.featureNames, rowMajor: values))
    }

    private init(featureNames: [String], steps: [[FittedFeatureStep]]) {
        self.featureNames = featureNames
        self.steps = steps
    }

    /// One feature's fitted steps and its column put through them, weight included. With
    /// `rowsOf`, `original` holds one value per group of rows (`rowsOf[i]`: row i's group) and
    /// the statistics are those of every row, taken in row order.
    private static func fitChain(_ specification: FeatureSpecification, _ original: [Double], rowsOf group: [Int32]? = nil) throws
        -> (steps: [FittedFeatureStep], column: [Double]) {
        guard specification.weight > 0, specification.weight.isFinite else {
            throw ClusteringError.invalidArgument("feature \"\(specification.name)\": weight \(specification.weight) must be a finite number > 0")
        }
        var column = original
        var fitted: [FittedFeatureStep] = []
        let rows = group?.count ?? column.count
        /// Folds `next` over every row's value, in row order.
        func overRows(_ initial: Double, _ next: (Double, Double) -> Double) -> Double {
            guard let group else { return column.reduce(initial, next) }
            return column.withUnsafeBufferPointer { values in group.reduce(initial) { next($0, values[Int($1)]) } }
        }
        for transform in specification.transforms {
            let step: FittedFeatureStep
            switch transform {
            case .log1p:
                step = .log1p
            case .zScore:
                let mean = overRows(0, +) / Double(max(rows, 1))
                let variance = overRows(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(rows, 1))
                // Values near the largest Double overflow the squares: every z-score would then
                // be 0 and the feature would silently count for nothing.
                guard variance.isFinite, mean.isFinite else {
                    throw ClusteringError.invalidArgument(
                        "feature \"\(specification.name)\": zscore overflows on values this large (mean \(mean), variance \(variance)); rescale the column first")
                }
                step = .scale(center: mean, spread: variance > 0 ? variance.squareRoot() : 1)
            case .robust:
                let quartiles = quantiles(of: group.map { $0.map { column[Int($0)] } } ?? column, at: [0.25, 0.5, 0.75])
                let iqr = quartiles[2] - quartiles[0]
                // As for zscore: a spread that overflows would make every value 0.
                guard iqr.isFinite else {
                    throw ClusteringError.invalidArgument(
                        "feature \"\(specification.name)\": robust overflows on values this large (interquartile range \(iqr)); rescale the column first")
                }
                step = .scale(center: quartiles[1], spread: iqr > 0 ? iqr : 1)
            case .winsorize(let lower, let upper):
                let bounds = quantiles(of: group.map { $0.map { column[Int($0)] } } ?? column, at: [lower, upper])
                step = .clip(lower: bounds[0], upper: bounds[1])
            }
            apply(step, to: &column)
            fitted.append(step)
        }
        if specification.weight != 1 {
            let step = FittedFeatureStep.weight(specification.weight)
            apply(step, to: &column)
            fitted.append(step)
            // A weight that takes the values past 1e150 overflows the squared distances
            // between points (not always the inertia, which is within segments): the
            // silhouette then read 0 and Calinski-Harabasz infinity for a weight of 1e308.
            let largest = column.reduce(0.0) { max($0, abs($1)) }
            guard largest <= 1e150 else {
                throw ClusteringError.invalidArgument(
                    "feature \"\(specification.name)\": weight \(specification.weight) takes its values to \(largest), where squared distances overflow; give a smaller weight")
            }
        }
        return (fitted, column)
    }

    /// A step applied in place: the first step's column is the caller's and is copied once;
    /// the later steps write over the copy instead of making a column each.
    private static func apply(_ step: FittedFeatureStep, to column: inout [Double]) {
        column.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = step.apply(values[i]) }
        }
    }

    /// The prepared feature matrix of `columns` (one array per feature, in order); throws on
    /// NaN or infinite values, naming the row and the feature.
    public func prepare(_ columns: [[Double]]) throws -> FeatureMatrix {
        try FeatureMatrix(columns: zip(featureNames, zip(steps, columns)).map { name, pair in
            (name, pair.1.map { x in pair.0.reduce(x) { $1.apply($0) } })
        })
    }

    /// A point of the prepared space (a centroid) in the original units.
    public func originalUnits(_ point: [Double]) -> [Double] {
        zip(steps, point).map { steps, y in steps.reversed().reduce(y) { $1.invert($0) } }
    }
}

/// log(1 + x), named apart from the enum cases that shadow `log1p` inside them.
private func logOnePlus(_ x: Double) -> Double { log1p(x) }
