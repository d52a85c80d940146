import Dispatch

/// Points to cluster: `count` rows (customers) of `dimension` named features, stored row by
/// row on one contiguous buffer, so that one point is `dimension` adjacent doubles and a block
/// of points is a column-major `dimension × rows` matrix that BLAS reads in place.
///
/// Construction refuses NaN and infinities, naming the 1-based row and the feature, because
/// one of them would silently poison every distance and centroid it touches.
public struct FeatureMatrix: Sendable, Equatable {
    public let featureNames: [String]
    public let count: Int
    /// Row-major values: feature j of row i is `values[i * dimension + j]`.
    public let values: [Double]

    public var dimension: Int { featureNames.count }

    public init(featureNames: [String], rowMajor values: [Double]) throws {
        guard !featureNames.isEmpty else { throw ClusteringError.invalidArgument("no features: name at least one column") }
        guard values.count % featureNames.count == 0 else {
            throw ClusteringError.invalidArgument("\(values.count) values do not fill rows of \(featureNames.count) features")
        }
        let d = featureNames.count
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ClusteringError.nonFiniteValue(row: bad / d + 1, feature: featureNames[bad % d], value: values[bad])
        }
        self.featureNames = featureNames
        self.values = values
        count = values.count / d
    }

    /// Builds the matrix from feature columns of equal length.
    public init(columns: [(name: String, values: [Double])]) throws {
        let n = columns.first?.values.count ?? 0
        guard columns.allSatisfy({ $0.values.count == n }) else {
            throw ClusteringError.invalidArgument("feature columns differ in length")
        }
        let d = columns.count
        let parts = n >= 100_000 ? 2 : 1
        let values = [Double](unsafeUninitializedCapacity: n * d) { target, initialised in
            let shared = UnsafeSendable(target)
            let fill = { @Sendable (part: Int) in
                for (j, column) in columns.enumerated() {
                    column.values.withUnsafeBufferPointer { source in
                        for i in (n * part / parts)..<(n * (part + 1) / parts) { shared.value[i * d + j] = source[i] }
                    }
                }
            }
            if parts > 1 { DispatchQueue.concurrentPerform(iterations: parts, execute: fill) } else { fill(0) }
            initialised = n * d
        }
        try self.init(featureNames: columns.map(\.name), rowMajor: values)
    }

    public subscript(row: Int, feature: Int) -> Double { values[row * dimension + feature] }

    /// The rows at `rows`, in that order (a row may come more than once): values already
    /// checked finite, so no check again.
    func rows(_ rows: [Int32]) -> FeatureMatrix {
        let d = dimension
        let gathered = values.withUnsafeBufferPointer { values in
            [Double](unsafeUninitializedCapacity: rows.count * d) { target, initialised in
                for (i, row) in rows.enumerated() {
                    for j in 0..<d { target[i * d + j] = values[Int(row) * d + j] }
                }
                initialised = rows.count * d
            }
        }
        return try! FeatureMatrix(featureNames: featureNames, rowMajor: gathered)
    }

    /// Feature `j` of every row.
    public func column(_ j: Int) -> [Double] {
        (0..<count).map { values[$0 * dimension + j] }
    }
}
