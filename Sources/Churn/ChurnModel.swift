import Foundation
import LifetimeValue
import LinearAlgebra
import Transactions

/// A fitted churn model as it is saved and reused: the feature recipe, the standardisation,
/// the coefficients (per standard deviation and in the features' own units, with standard
/// errors and z-values when the fit is unpenalised and unweighted), the fit diagnostics and
/// the cross-validated metrics. It scores new summaries without refitting.
public struct ChurnModel: Codable, Sendable, Equatable {
    /// The version of this layout; readers refuse any other.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// Always `logistic`.
    public var model: String
    public var label: ChurnLabel
    public var specification: FeatureSpecification
    public var transform: FeatureTransform
    public var penalty: Double
    public var classWeights: ClassWeights
    /// Intercept first, then one per feature in `specification.names` order.
    public var coefficients: [Coefficient]
    public var logLikelihood: Double
    public var iterations: Int
    public var converged: Bool
    public var gradientNorm: Double
    public var customers: Int
    public var churnRate: Double
    /// The unit of recency and T the model was fitted in.
    public var timeUnit: String
    public var evaluation: ChurnEvaluation?
    public var dataFingerprint: String
    public var createdAt: String
    public var clienteleVersion: String

    public struct Coefficient: Codable, Sendable, Equatable {
        public var name: String
        /// Per standard deviation of the feature (the scale the penalty acts on).
        public var standardized: Double
        /// Per unit of the feature (for the intercept: at every feature 0).
        public var original: Double
        public var standardError: Double?
        public var zValue: Double?
    }

    /// What a cross-validation of the model measures besides it, and how its folds are drawn.
    public struct CrossValidation {
        public var folds: Int
        public var seed: UInt64
        public var purchaseScores: PurchaseScores?
        public var purchaseModelProbability: [Double]?
        /// Each customer's distinct purchase history (`PurchaseHistories.customerRows`), when
        /// known: the purchase model's scores depend on nothing else, so their metrics rank
        /// the histories instead of the customers, with the same numbers; and the customers
        /// who share a history share the features that are functions of it, so the design's
        /// grouping of equal customers compares the history instead of those features.
        public var historyOf: [Int32]?
        /// Whether `purchaseScores` and `purchaseModelProbability` hold one value per distinct
        /// history (indexed as `historyOf` numbers them) rather than per customer: a caller
        /// that has them so keeps no per-customer copy for the metrics, 160 MB at 10M
        /// customers (`perHistory(_:historyOf:)` makes them).
        public var scoresPerHistory = false
        /// Whether customers who share features, label and fold are fitted as one row
        /// (`ChurnEvaluation.FoldDesign`); off only where a test compares the two.
        var compressing = true

        public init(folds: Int, seed: UInt64, purchaseScores: PurchaseScores?, purchaseModelProbability: [Double]? = nil,
                    historyOf: [Int32]? = nil) {
            (self.folds, self.seed, self.purchaseScores, self.purchaseModelProbability) = (folds, seed, purchaseScores, purchaseModelProbability)
            self.historyOf = historyOf
        }
    }

    /// Per-customer values as one per distinct history (`historyOf` numbering the histories
    /// densely from 0): each history takes the value of a customer of it, which every
    /// customer of it shares.
    public static func perHistory(_ values: [Double], historyOf: [Int32]) -> [Double] {
        let histories = Int(historyOf.max() ?? -1) + 1
        var perHistory = [Double](repeating: 0, count: histories)
        for (customer, history) in historyOf.enumerated() { perHistory[Int(history)] = values[customer] }
        return perHistory
    }

    /// Refuses labels that no model can be fitted on (one class only), or that cannot be
    /// cross-validated in `folds` folds (0: no cross-validation), as the fit would; for a
    /// caller to ask before the costly work that comes before the fit (the BG/NBD features).
    public static func checkLabels(_ labels: [Double], folds: Int) throws {
        let churned = labels.reduce(0, +)
        guard churned > 0, churned < Double(labels.count) else {
            throw ChurnError.oneClass(everyCustomerChurned: churned > 0)
        }
        if folds > 0 { try ChurnEvaluation.FoldLayout.check(labels: labels, folds: folds) }
    }

    /// Fits the model on every customer given, and cross-validates it when asked
    /// (`evaluation`). The fit and the folds then share one design, its rows in fold order and
    /// its blocks split at the folds' boundaries, and the fit's last pass over it gives each
    /// fold its first evaluation (see `ChurnEvaluation`): one design and five passes fewer
    /// than fitting and cross-validating apart. `designReleased` is called once the design is
    /// gone (before the metrics), for a caller that waits to start other large work. The fit
    /// is the same optimum whatever the order of the rows; only the rounding of its sums
    /// differs. The features are the fit's own: with cross-validation they are dropped with
    /// the design, so that a caller that hands over its only copy (summary columns and all)
    /// has that memory back before the metrics.
    public static func fit(features: consuming FeatureMatrix, labels: [Double], specification: FeatureSpecification,
                           label: ChurnLabel, penalty: Double, classWeights: ClassWeights, timeUnit: String,
                           dataFingerprint: String, clienteleVersion: String, createdAt: Date = Date(),
                           crossValidation: CrossValidation? = nil, designReleased: (() -> Void)? = nil) throws -> ChurnModel {
        var (model, metrics) = try fitMeasuringLater(features: features, labels: labels, specification: specification, label: label,
                                                     penalty: penalty, classWeights: classWeights, timeUnit: timeUnit,
                                                     dataFingerprint: dataFingerprint, clienteleVersion: clienteleVersion,
                                                     createdAt: createdAt, crossValidation: crossValidation,
                                                     designReleased: designReleased)
        model.evaluation = metrics?.measure()
        return model
    }

    /// The out-of-fold probabilities of a cross-validation and what their metrics need, for a
    /// caller that takes the metrics when it chooses (`fitMeasuringLater`).
    public struct PendingMetrics {
        let outOfFold: [Double]
        let labels: [Double]
        let layout: ChurnEvaluation.FoldLayout
        let crossValidation: CrossValidation

        /// The cross-validation's metrics, the model's `evaluation`.
        public func measure() -> ChurnEvaluation {
            ChurnEvaluation(outOfFold: outOfFold, labels: labels, layout: layout, purchaseScores: crossValidation.purchaseScores,
                            purchaseModelProbability: crossValidation.purchaseModelProbability,
                            historyOf: crossValidation.historyOf, scoresPerHistory: crossValidation.scoresPerHistory)
        }
    }

    /// `fit`, but with the metrics of the cross-validation left to the caller (nil without
    /// one): a caller that scores customers with the model has their probabilities sooner
    /// (the metrics sort and count every customer several times), and its stages that wait
    /// for the probabilities go on while the metrics are taken.
    public static func fitMeasuringLater(features: consuming FeatureMatrix, labels: [Double], specification: FeatureSpecification,
                                         label: ChurnLabel, penalty: Double, classWeights: ClassWeights, timeUnit: String,
                                         dataFingerprint: String, clienteleVersion: String, createdAt: Date = Date(),
                                         crossValidation: CrossValidation? = nil,
                                         designReleased: (() -> Void)? = nil) throws -> (model: ChurnModel, metrics: PendingMetrics?) {
        guard let crossValidation else {
            let (transform, fit) = try fitLogistic(copy features, labels, penalty: penalty, classWeights: classWeights)
            designReleased?()
            return (make(transform: transform, fit: fit, features: copy features, labels: labels, specification: specification,
                         label: label, penalty: penalty, classWeights: classWeights, timeUnit: timeUnit,
                         dataFingerprint: dataFingerprint, clienteleVersion: clienteleVersion, createdAt: createdAt), nil)
        }
        let layout = try ChurnEvaluation.FoldLayout(labels: labels, folds: crossValidation.folds, seed: crossValidation.seed)
        let transform = try FeatureTransform(fitting: copy features)
        let model: ChurnModel
        let outOfFold: [Double]
        do {
            // The design is dropped before the metrics, which sort several copies of the scores.
            let fold = ChurnEvaluation.FoldDesign(features: copy features, labels: labels, layout: layout, transform: transform,
                                  classWeights: classWeights, compressing: crossValidation.compressing,
                                                    historyOf: crossValidation.historyOf)
            var regression = LogisticRegression(penalty: penalty)
            regression.weightsCountCustomers = fold.counts != nil
            let fit = try regression.fit(
                design: fold.design, rows: fold.layout.ranges, labels: fold.labels, weights: fold.caseWeights,
                penaltyScales: nil, start: nil, names: ["intercept"] + features.names)
            model = make(transform: transform, fit: fit, features: copy features, labels: labels, specification: specification,
                         label: label, penalty: penalty, classWeights: classWeights, timeUnit: timeUnit,
                         dataFingerprint: dataFingerprint, clienteleVersion: clienteleVersion, createdAt: createdAt)
            outOfFold = try ChurnEvaluation.outOfFoldProbabilities(fold, penalty: penalty, classWeights: classWeights,
                                                                   start: fit.coefficients, initial: fit.partials)
        }
        _ = consume features
        designReleased?()
        return (model, PendingMetrics(outOfFold: outOfFold, labels: labels, layout: layout, crossValidation: crossValidation))
    }

    private static func make(transform: FeatureTransform, fit: LogisticFit, features: FeatureMatrix, labels: [Double],
                             specification: FeatureSpecification, label: ChurnLabel, penalty: Double,
                             classWeights: ClassWeights, timeUnit: String, dataFingerprint: String,
                             clienteleVersion: String, createdAt: Date) -> ChurnModel {
        let toOriginal = transform.toOriginalUnits
        let original = BLAS.gemv(toOriginal, fit.coefficients)
        let originalCovariance = fit.covariance.map { toOriginal * $0 * toOriginal.transposed() }
        let names = ["intercept"] + features.names
        let coefficients = names.indices.map { j in
            let standardError = originalCovariance.map { $0[j, j].squareRoot() }
            return Coefficient(name: names[j], standardized: fit.coefficients[j], original: original[j],
                               standardError: standardError, zValue: standardError.map { original[j] / $0 })
        }
        return ChurnModel(
            formatVersion: currentFormatVersion, model: "logistic", label: label, specification: specification,
            transform: transform, penalty: penalty, classWeights: classWeights, coefficients: coefficients,
            logLikelihood: fit.logLikelihood, iterations: fit.iterations, converged: fit.converged,
            gradientNorm: fit.gradientNorm, customers: labels.count, churnRate: labels.reduce(0, +) / Double(labels.count),
            timeUnit: timeUnit, evaluation: nil, dataFingerprint: dataFingerprint,
            createdAt: ISO8601DateFormatter().string(from: createdAt), clienteleVersion: clienteleVersion)
    }

    /// The standardisation fitted on the customers and the logistic fit on them.
    static func fitLogistic(_ features: FeatureMatrix, _ labels: [Double], penalty: Double,
                            classWeights: ClassWeights) throws -> (FeatureTransform, LogisticFit) {
        let transform = try FeatureTransform(fitting: features)
        let fit = try LogisticRegression(penalty: penalty).fit(
            design: transform.design(features), labels: labels, weights: classWeights.caseWeights(labels),
            names: ["intercept"] + features.names)
        return (transform, fit)
    }

    /// The churn probability of each customer.
    public func probabilities(_ features: FeatureMatrix) throws -> [Double] {
        guard features.names == transform.names else {
            throw ChurnError.invalidModelFile("the model reads \(transform.names.joined(separator: ", ")) but was given \(features.names.joined(separator: ", "))")
        }
        // A block of the design at a time, in cache, never the whole n × c design.
        let n = features.count, c = transform.names.count + 1, blockRows = 4096
        let beta = coefficients.map(\.standardized), transform = transform
        let blocks = (n + blockRows - 1) / blockRows, threads = n >= 100_000 ? 2 : 1
        return [Double](unsafeUninitializedCapacity: n) { probabilities, initialised in
            let target = probabilities.baseAddress
            parallelFor(threads) { t in
                var design = [Double](repeating: 0, count: blockRows * c)
                for block in (blocks * t / threads)..<(blocks * (t + 1) / threads) {
                    let rows = (block * blockRows)..<min(n, (block + 1) * blockRows)
                    design.withUnsafeMutableBufferPointer { x in
                        transform.fillDesign(features, rows: rows, into: x.baseAddress!)
                        beta.withUnsafeBufferPointer { b in
                            BLAS.gemm(transposeA: false, transposeB: false, m: rows.count, n: 1, k: c, alpha: 1,
                                      a: x.baseAddress!, lda: rows.count, b: b.baseAddress!, ldb: c, beta: 0,
                                      c: target! + rows.lowerBound, ldc: rows.count)
                        }
                    }
                    for i in rows { target![i] = 1 / (1 + exp(-target![i])) }
                }
            }
            initialised = n
        }
    }

    /// The JSON text, keys sorted, so that the same fit gives the same file.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .modelFile
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// Reads a churn model file; another format version or model is refused by name.
    public static func decode(_ bytes: [UInt8], source: String) throws -> ChurnModel {
        struct Header: Decodable {
            var formatVersion: Int?
            var model: String?
        }
        let data = Data(bytes)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .modelFile
        let header = try? decoder.decode(Header.self, from: data)
        guard let version = header?.formatVersion, header?.model == "logistic" else {
            // Looked for only here: a good file is not parsed once more for it.
            if let problem = jsonSyntaxProblem(bytes) { throw ChurnError.invalidModelFile("\(source): \(problem)") }
            throw ChurnError.invalidModelFile("\(source) is not a churn model file (it needs \"model\": \"logistic\" and a formatVersion)")
        }
        guard version == currentFormatVersion else {
            throw ChurnError.invalidModelFile("\(source) has format version \(version); this Clientele reads version \(currentFormatVersion)")
        }
        let model: ChurnModel
        do {
            model = try decoder.decode(ChurnModel.self, from: data)
        } catch let error as DecodingError {
            throw ChurnError.invalidModelFile("\(source): \(error.keyPathDescription)")
        }
        if let problem = model.inconsistency { throw ChurnError.invalidModelFile("\(source): \(problem)") }
        return model
    }

    /// What makes a decoded model unable to score (a file cut short or edited by hand), by key
    /// path, or nil: one coefficient per feature and the intercept, finite; a standardisation
    /// of finite means and scales above 0 for each feature; a purchase model whose parameters
    /// and horizon are above 0. A fit never writes otherwise.
    var inconsistency: String? {
        let names = specification.names
        guard transform.names == names, transform.means.count == names.count, transform.scales.count == names.count else {
            return "transform: expected means and scales for the \(names.count) features \(names.joined(separator: ", "))"
        }
        guard coefficients.count == names.count + 1, coefficients.map(\.name) == ["intercept"] + names else {
            return "coefficients: expected \(names.count + 1), for intercept, \(names.joined(separator: ", ")) (found \(coefficients.count))"
        }
        if let j = coefficients.firstIndex(where: { !$0.standardized.isFinite || !$0.original.isFinite || abs($0.standardized) > 1e6 }) {
            return "coefficients.\(j).standardized: \(coefficients[j].standardized) is not a coefficient a fit gives (finite, at most 1e6 in size)"
        }
        if let j = transform.scales.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            return "transform.scales.\(j): \(transform.scales[j]) is not a scale (a finite number above 0)"
        }
        if let j = transform.means.firstIndex(where: { !$0.isFinite }) {
            return "transform.means.\(j): \(transform.means[j]) is not a finite number"
        }
        if let purchase = specification.purchaseModel {
            for (key, value) in [("r", purchase.r), ("alpha", purchase.alpha), ("a", purchase.a), ("b", purchase.b), ("horizon", purchase.horizon)]
            where !(value > 0 && value.isFinite) {
                return "specification.purchaseModel.\(key): \(value) is not a finite number above 0"
            }
        }
        return nil
    }
}

/// How churned and retained customers are weighted in the fit (not in the metrics).
public enum ClassWeights: Sendable, Equatable, Codable, CustomStringConvertible {
    case none
    /// scikit-learn's `balanced`: each class weighs n / (2 · its size), so both weigh alike.
    case balanced
    /// Churned customers weigh this much, retained ones 1.
    case churned(Double)

    /// The weight of each customer, or nil when all weigh 1.
    public func caseWeights(_ labels: [Double]) -> [Double]? {
        guard let (churnedWeight, retainedWeight) = classWeights(churned: labels.reduce(0, +), customers: Double(labels.count)) else {
            return nil
        }
        return labels.map { $0 == 1 ? churnedWeight : retainedWeight }
    }

    /// The weight of a churned and of a retained customer among `customers` of whom
    /// `churned` churned, or nil when all weigh 1.
    func classWeights(churned: Double, customers n: Double) -> (churned: Double, retained: Double)? {
        switch self {
        case .none:
            return nil
        case .balanced:
            guard churned > 0, churned < n else { return nil }
            return (n / (2 * churned), n / (2 * (n - churned)))
        case .churned(let weight):
            return (weight, 1)
        }
    }

    /// `none`, `balanced`, or a number: the weight of churned customers.
    public init?(argument: String) {
        switch argument {
        case "none": self = .none
        case "balanced": self = .balanced
        default:
            guard let weight = Double(argument), weight > 0, weight.isFinite else { return nil }
            self = .churned(weight)
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .balanced: return "balanced"
        case .churned(let weight): return "\(weight)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let weights = ClassWeights(argument: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected none, balanced or a positive number, got \"\(text)\""))
        }
        self = weights
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension DecodingError {
    /// What is wrong and where, as a key path (`coefficients.2.original`).
    var keyPathDescription: String {
        func path(_ context: Context, _ key: CodingKey? = nil) -> String {
            (context.codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing key \(path(context, key))"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
