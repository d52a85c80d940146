#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How well a churn score ranks and, when it is a probability, predicts churn:
///
/// - AUC: the probability that a churned customer scores above a retained one, ties
///   counting one half (the Mann–Whitney statistic from mid-ranks; scikit-learn's
///   `roc_auc_score`);
/// - log-loss: −mean[y log p + (1 − y) log(1 − p)], with p clipped to [ε, 1 − ε] for the
///   double ε, as scikit-learn's `log_loss` clips (a score of exactly 0 or 1 that is wrong
///   costs −log ε ≈ 36, not infinity);
/// - Brier score: mean (p − y)²;
/// - deciles of the score, highest first: churn rate, lift (the rate over the overall rate),
///   cumulative gain (the share of all churners found in the deciles so far) and, for a
///   probability, the mean prediction beside the observed rate (calibration).
///
/// Deciles are equal slices of the customers sorted by descending score, ties kept in
/// customer order, so a score with many ties (P(alive) = 1 for every one-time buyer) is
/// sliced through its ties by position.
public struct ScoreMetrics: Codable, Sendable, Equatable {
    public var customers: Int
    public var churned: Int
    public var auc: Double
    /// nil when the score is not a probability.
    public var logLoss: Double?
    public var brierScore: Double?
    public var deciles: [Decile]
    /// The AUC within each cross-validation fold, in fold order.
    public var foldAUC: [Double]

    public struct Decile: Codable, Sendable, Equatable {
        /// 1 for the tenth of customers with the highest scores.
        public var decile: Int
        public var customers: Int
        public var churned: Int
        public var churnRate: Double
        public var lift: Double
        public var cumulativeGain: Double
        /// The mean predicted probability (nil when the score is not a probability).
        public var meanPrediction: Double?
    }

    /// The metrics of `scores` (higher: more likely to churn) against labels (1: churned).
    /// `folds` (one fold number per customer) adds the AUC within each fold.
    public init(scores: [Double], labels: [Double], isProbability: Bool, folds: [Int]? = nil, foldCount: Int = 0) {
        precondition(scores.count == labels.count, "one score per label")
        let customers = scores.count, churned = Int(labels.reduce(0, +))
        self.customers = customers
        self.churned = churned
        auc = Self.auc(scores, labels)
        if isProbability {
            let epsilon = Double.ulpOfOne
            var loss = 0.0, brier = 0.0
            for (p, y) in zip(scores, labels) {
                let clipped = min(max(p, epsilon), 1 - epsilon)
                loss -= y * log(clipped) + (1 - y) * log(1 - clipped)
                brier += (p - y) * (p - y)
            }
            logLoss = loss / Double(customers)
            brierScore = brier / Double(customers)
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let overallRate = Double(churned) / Double(customers)
        var found = 0
        deciles = (0..<10).map { d in
            let slice = order[(customers * d / 10)..<(customers * (d + 1) / 10)]
            let count = slice.count
            let churners = Int(slice.reduce(0) { $0 + labels[$1] })
            found += churners
            let rate = count == 0 ? 0 : Double(churners) / Double(count)
            return Decile(decile: d + 1, customers: count, churned: churners, churnRate: rate,
                          lift: overallRate > 0 ? rate / overallRate : 0,
                          cumulativeGain: churned > 0 ? Double(found) / Double(churned) : 0,
                          meanPrediction: isProbability && count > 0 ? slice.reduce(0) { $0 + scores[$1] } / Double(count) : nil)
        }
        foldAUC = []
        if let folds {
            foldAUC = (0..<foldCount).map { fold in
                let members = folds.indices.filter { folds[$0] == fold }
                return Self.auc(members.map { scores[$0] }, members.map { labels[$0] })
            }
        }
    }

    /// The Mann–Whitney AUC from mid-ranks (NaN when one class is empty).
    static func auc(_ scores: [Double], _ labels: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, scores[order[end]] == scores[order[start]] { end += 1 }
            let midRank = Double(start + 1 + end) / 2
            for k in start..<end where labels[order[k]] == 1 { rankSum += midRank }
            start = end
        }
        let positives = labels.reduce(0, +), negatives = Double(labels.count) - positives
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }
}
