import LinearAlgebra
import Transactions

/// Named numeric features of customers, one array per feature, rows in customer order.
public struct FeatureMatrix: Sendable, Equatable {
    public var names: [String]
    public var columns: [[Double]]

    public init(names: [String], columns: [[Double]]) {
        precondition(names.count == columns.count, "one name per column")
        precondition(Set(columns.map(\.count)).count <= 1, "every column needs one value per customer")
        self.names = names
        self.columns = columns
    }

    public var count: Int { columns.first?.count ?? 0 }

    /// The rows `rows`, in that order.
    public func selecting(_ rows: [Int]) -> FeatureMatrix {
        FeatureMatrix(names: names, columns: columns.map { column in rows.map { column[$0] } })
    }
}

/// Standardisation of each feature to mean 0 and standard deviation 1 — the population
/// deviation (divisor n), as scikit-learn's `StandardScaler` — kept with the model so that
/// new customers are scaled as the training ones were, and so that coefficients can be read
/// in the features' own units:
///
///     η = β₀ + Σⱼ βⱼ (xⱼ − μⱼ)/sⱼ = (β₀ − Σⱼ βⱼ μⱼ/sⱼ) + Σⱼ (βⱼ/sⱼ) xⱼ.
///
/// Standardising makes the L2 penalty treat every feature alike (a coefficient per standard
/// deviation) and keeps XᵀWX well conditioned whatever the features' units.
public struct FeatureTransform: Codable, Sendable, Equatable {
    public var names: [String]
    public var means: [Double]
    public var scales: [Double]

    public init(names: [String], means: [Double], scales: [Double]) {
        self.names = names
        self.means = means
        self.scales = scales
    }

    /// The means and standard deviations of the features; a constant feature is refused.
    public init(fitting features: FeatureMatrix) throws {
        names = features.names
        means = []
        scales = []
        let n = Double(features.count)
        for (name, column) in zip(features.names, features.columns) {
            let mean = column.reduce(0, +) / n
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            guard variance > 0, variance.isFinite else { throw ChurnError.constantFeature(name, value: column.first ?? 0) }
            means.append(mean)
            scales.append(variance.squareRoot())
        }
    }

    /// The design matrix: a column of ones, then each feature standardised.
    public func design(_ features: FeatureMatrix) -> Matrix {
        precondition(features.names == names, "the features must be the transform's, in its order")
        let n = features.count, c = names.count + 1
        var design = Matrix(rows: n, columns: c)
        design.withUnsafeMutableBufferPointer { x, _ in
            for i in 0..<n { x[i] = 1 }
            parallelFor(n >= 100_000 ? 2 : 1) { t in
                for j in stride(from: t, to: names.count, by: n >= 100_000 ? 2 : 1) {
                    let (mean, scale) = (means[j], scales[j])
                    features.columns[j].withUnsafeBufferPointer { source in
                        let target = x.baseAddress! + (j + 1) * n
                        for i in 0..<n { target[i] = (source[i] - mean) / scale }
                    }
                }
            }
        }
        return design
    }

    /// The linear map A from standardised coefficients (intercept first) to coefficients in
    /// the features' own units: β_original = A β.
    public var toOriginalUnits: Matrix {
        let c = names.count + 1
        var a = Matrix(rows: c, columns: c)
        a[0, 0] = 1
        for j in 0..<names.count {
            a[0, j + 1] = -means[j] / scales[j]
            a[j + 1, j + 1] = 1 / scales[j]
        }
        return a
    }
}
