import Simulation
import Transactions

/// Out-of-sample evaluation by stratified k-fold cross-validation.
///
/// Customers are dealt into k folds class by class: the churned ones in a seeded shuffle
/// (xoshiro256**), then the retained ones, each dealt round-robin, so that every fold has the
/// overall churn rate to within one customer. For each fold the standardisation and the
/// logistic model are fitted on the other k − 1 folds and score the fold; the metrics are
/// taken on the pooled out-of-fold probabilities (and the AUC within each fold).
///
/// The purchase model's own churn scores — 1 − P(alive), expected holdout purchases (fewer
/// expected purchases: more likely to churn) and, for purchase-count labels, the model's
/// probability of the label itself (fewer than n purchases in the holdout) — are measured on
/// the same customers and folds. They are out of sample in time (the BG/NBD model sees only
/// the calibration window) and never see the labels, so they need no refitting per fold;
/// expected purchases are not a probability, so they get the ranking metrics only.
public struct ChurnEvaluation: Codable, Sendable, Equatable {
    public var folds: Int
    public var seed: UInt64
    public var logistic: ScoreMetrics
    /// 1 − P(alive) as a churn probability.
    public var oneMinusPAlive: ScoreMetrics?
    /// −(expected holdout purchases) as a churn score.
    public var expectedPurchases: ScoreMetrics?
    /// The purchase model's P(fewer than n purchases in the holdout), for purchase-count labels.
    public var purchaseModelProbability: ScoreMetrics?
    /// The out-of-fold churn probability of each customer (not saved in the model file).
    public var outOfFoldProbabilities: [Double] = []

    private enum CodingKeys: String, CodingKey { case folds, seed, logistic, oneMinusPAlive, expectedPurchases, purchaseModelProbability }

    /// Cross-validates the logistic model on `features` and measures `purchaseScores` and
    /// `purchaseModelProbability` on the same folds.
    public init(features: FeatureMatrix, labels: [Double], purchaseScores: PurchaseScores?,
                purchaseModelProbability: [Double]? = nil, penalty: Double, classWeights: ClassWeights, folds: Int, seed: UInt64) throws {
        let n = labels.count
        let churners = Int(labels.reduce(0, +))
        guard folds >= 2, min(churners, n - churners) >= folds else {
            throw ChurnError.invalidInput("\(folds)-fold cross-validation needs at least 2 folds and \(folds) customers of each class (\(churners) churned, \(n - churners) retained)")
        }
        let fold = Self.stratifiedFolds(labels: labels, folds: folds, seed: seed)
        let outOfFold = try Self.outOfFoldProbabilities(features: features, labels: labels, fold: fold, folds: folds,
                                                        penalty: penalty, classWeights: classWeights)
        self.folds = folds
        self.seed = seed
        // The four scores are measured side by side, one per thread.
        var measured: [(scores: [Double], isProbability: Bool)] = [(outOfFold, true)]
        if let purchaseScores {
            measured.append((purchaseScores.pAlive.map { 1 - $0 }, true))
            measured.append((purchaseScores.expectedPurchases.map { -$0 }, false))
        }
        if let purchaseModelProbability { measured.append((purchaseModelProbability, true)) }
        var metrics = [ScoreMetrics?](repeating: nil, count: measured.count)
        metrics.withUnsafeMutableBufferPointer { slots in
            parallelFor(measured.count) { m in
                slots[m] = ScoreMetrics(scores: measured[m].scores, labels: labels, isProbability: measured[m].isProbability,
                                        folds: fold, foldCount: folds)
            }
        }
        logistic = metrics[0]!
        oneMinusPAlive = purchaseScores == nil ? nil : metrics[1]
        expectedPurchases = purchaseScores == nil ? nil : metrics[2]
        self.purchaseModelProbability = purchaseModelProbability == nil ? nil : metrics.last!
        outOfFoldProbabilities = outOfFold
    }

    /// Each customer's churn probability from the model fitted without its fold. The folds'
    /// row lists, labels and designs reuse one buffer each, fold after fold, and are freed
    /// before the metrics are ranked.
    private static func outOfFoldProbabilities(features: FeatureMatrix, labels: [Double], fold: [Int], folds: Int,
                                               penalty: Double, classWeights: ClassWeights) throws -> [Double] {
        let n = labels.count
        var outOfFold = [Double](repeating: 0, count: n)
        var training: [Int] = [], testing: [Int] = [], trainingLabels: [Double] = []
        var trainingDesign: [Double] = [], testingDesign: [Double] = []
        for k in 0..<folds {
            training.removeAll(keepingCapacity: true)
            testing.removeAll(keepingCapacity: true)
            trainingLabels.removeAll(keepingCapacity: true)
            for i in 0..<n {
                if fold[i] == k {
                    testing.append(i)
                } else {
                    training.append(i)
                    trainingLabels.append(labels[i])
                }
            }
            do {
                let (transform, fit) = try ChurnModel.fitLogistic(features, trainingLabels, rows: training, penalty: penalty,
                                                                  classWeights: classWeights, reusing: &trainingDesign)
                let design = transform.design(features, rows: testing, reusing: &testingDesign)
                let scores = ChurnModel.probabilities(design, fit.coefficients)
                testingDesign = design.elements
                for (i, p) in zip(testing, scores) { outOfFold[i] = p }
            } catch let error as ChurnError {
                throw ChurnError.invalidInput("cross-validation fold \(k + 1) of \(folds) (fitted without \(testing.count) customers): \(error)")
            }
        }
        return outOfFold
    }

    /// The fold (0..<folds) of each customer; each class is shuffled with the seed and dealt
    /// round-robin, the retained ones continuing where the churned ones stopped.
    public static func stratifiedFolds(labels: [Double], folds: Int, seed: UInt64) -> [Int] {
        var random = SeededRandom(seed: seed)
        var fold = [Int](repeating: 0, count: labels.count)
        var next = 0
        for label in [1.0, 0.0] {
            var members = labels.indices.filter { labels[$0] == label }
            members.shuffle(using: &random)
            for i in members {
                fold[i] = next % folds
                next += 1
            }
        }
        return fold
    }
}
