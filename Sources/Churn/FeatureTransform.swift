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
        var moments = [Moments](repeating: Moments(mean: 0, variance: 0, constant: true), count: names.count)
        let threads = features.count >= 100_000 ? 2 : 1
        moments.withUnsafeMutableBufferPointer { slots in
            parallelFor(threads) { t in
                for j in stride(from: t, to: slots.count, by: threads) {
                    slots[j] = features.columns[j].withUnsafeBufferPointer { column in
                        Self.moments(count: column.count) { column[$0] }
                    }
                }
            }
        }
        for (j, moment) in moments.enumerated() where moment.constant {
            throw ChurnError.constantFeature(names[j], value: features.columns[j].first ?? 0)
        }
        means = moments.map(\.mean)
        scales = moments.map { $0.variance.squareRoot() }
    }

    struct Moments {
        var mean: Double
        var variance: Double
        /// Every value the same (or the variance not a positive number).
        var constant: Bool
    }

    /// The mean and population variance of `count` values (`value(i)`: a column's rows, read
    /// in place), by two passes (the second on deviations from the mean, which keeps the
    /// variance accurate when the mean is large), summed in four lanes in a fixed order; and
    /// whether the values are constant. A constant column's computed mean can round off its
    /// value, leaving a variance of the order of the rounding (the mean's square times far
    /// less than 1e-16) instead of 0: a variance that small is checked value by value.
    @inline(__always)
    static func moments(count: Int, _ value: (Int) -> Double) -> Moments {
        func laneSum(_ term: (Double) -> Double) -> Double {
            var lanes = SIMD4<Double>()
            let whole = count & ~3
            for i in stride(from: 0, to: whole, by: 4) {
                lanes += SIMD4(term(value(i)), term(value(i + 1)), term(value(i + 2)), term(value(i + 3)))
            }
            return (whole..<count).reduce(lanes.sum()) { $0 + term(value($1)) }
        }
        let n = Double(count)
        let mean = laneSum { $0 } / n
        return Moments(mean: mean, variance: laneSum { ($0 - mean) * ($0 - mean) } / n, count: count, value)
    }

    /// The mean and population variance of `count` values each counted `weight(i)` times (a
    /// distinct row standing for that many customers), by the same two passes in one lane;
    /// and whether the values are constant.
    static func moments(count: Int, weight: (Int) -> Double, _ value: (Int) -> Double) -> Moments {
        var total = 0.0, sum = 0.0
        for i in 0..<count {
            total += weight(i)
            sum += weight(i) * value(i)
        }
        let mean = sum / total
        var squares = 0.0
        for i in 0..<count { squares += weight(i) * (value(i) - mean) * (value(i) - mean) }
        return Moments(mean: mean, variance: squares / total, count: count, value)
    }

    /// The design matrix of `rows` (nil: every customer), in that order: a column of ones,
    /// then each feature standardised.
    public func design(_ features: FeatureMatrix, rows: [Int]? = nil) -> Matrix {
        let n = rows?.count ?? features.count, c = names.count + 1
        let threads = n >= 100_000 ? 2 : 1
        // Every element is written below, so the buffer starts uninitialised, not zeroed.
        let elements = [Double](unsafeUninitializedCapacity: n * c) { x, initialised in
            parallelFor(threads) { t in
                let part = (n * t / threads)..<(n * (t + 1) / threads)
                if let rows {
                    fillDesign(features, rows: rows[part], into: x.baseAddress! + part.lowerBound, leadingDimension: n)
                } else {
                    fillDesign(features, rows: part, into: x.baseAddress! + part.lowerBound, leadingDimension: n)
                }
            }
            initialised = n * c
        }
        return Matrix(rows: n, columns: c, columnMajor: elements)
    }

    /// The design with customer i on row `positions[i]` (a permutation of the rows): each
    /// feature column is read front to back and written in as many forward streams as the
    /// permutation has runs (a cross-validation's folds), where reading it in row order would
    /// jump about the whole column.
    func design(_ features: FeatureMatrix, positions: [Int32]) -> Matrix {
        precondition(features.names == names && positions.count == features.count, "the transform's features, one position each")
        let n = features.count, c = names.count + 1
        let threads = n >= 100_000 ? 2 : 1
        let elements = [Double](unsafeUninitializedCapacity: n * c) { x, initialised in
            let target = x.baseAddress!
            target.update(repeating: 1, count: n)
            positions.withUnsafeBufferPointer { position in
                parallelFor(threads) { t in
                    let part = (n * t / threads)..<(n * (t + 1) / threads)
                    for j in names.indices {
                        let (mean, scale, column) = (means[j], scales[j], target + (j + 1) * n)
                        features.columns[j].withUnsafeBufferPointer { source in
                            for i in part { column[Int(position[i])] = (source[i] - mean) / scale }
                        }
                    }
                }
            }
            initialised = n * c
        }
        return Matrix(rows: n, columns: c, columnMajor: elements)
    }

    /// The design rows of the customers `rows` (a column of ones, then each feature
    /// standardised), column by column into `target`, whose columns are `leadingDimension`
    /// apart (nil: `rows.count`, a block of its own).
    func fillDesign<Rows: Collection<Int>>(_ features: FeatureMatrix, rows: Rows, into target: UnsafeMutablePointer<Double>,
                                           leadingDimension: Int? = nil) {
        precondition(features.names == names, "the features must be the transform's, in its order")
        let lda = leadingDimension ?? rows.count
        target.update(repeating: 1, count: rows.count)
        for j in names.indices {
            let (mean, scale, column) = (means[j], scales[j], target + (j + 1) * lda)
            features.columns[j].withUnsafeBufferPointer { source in
                for (k, i) in rows.enumerated() { column[k] = (source[i] - mean) / scale }
            }
        }
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

extension FeatureTransform.Moments {
    /// The moments of `count` values (`value(i)`), told constant when the variance is not a
    /// positive number, or is within rounding of 0 and every value equals the first.
    init(mean: Double, variance: Double, count: Int, _ value: (Int) -> Double) {
        self.init(mean: mean, variance: variance, constant: !(variance > 0 && variance.isFinite)
            || (variance <= 1e-16 * mean * mean && (1..<max(count, 1)).allSatisfy { value($0) == value(0) }))
    }
}
