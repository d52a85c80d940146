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
        // One sort serves every measure: ascending by score, ties by customer order.
        let ranked = Self.ranked(scores)
        let overallRate = Double(churned) / Double(customers)
        // Deciles take customers by descending score, ties still in customer order: the tie
        // groups from the top, each walked forwards.
        var order: [Int] = []
        order.reserveCapacity(customers)
        var groupEnd = customers
        while groupEnd > 0 {
            var groupStart = groupEnd - 1
            while groupStart > 0, ranked[groupStart - 1].score == ranked[groupEnd - 1].score { groupStart -= 1 }
            for k in groupStart..<groupEnd { order.append(Int(ranked[k].index)) }
            groupEnd = groupStart
        }
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
        auc = Self.auc(ranked, labels, groups: [Int](repeating: 0, count: customers), groupCount: 1)[0]
        foldAUC = []
        if let folds, foldCount > 0 {
            foldAUC = Self.auc(ranked, labels, groups: folds, groupCount: foldCount)
        }
    }

    /// The Mann–Whitney AUC from mid-ranks (NaN when one class is empty).
    static func auc(_ scores: [Double], _ labels: [Double]) -> Double {
        auc(ranked(scores), labels, groups: [Int](repeating: 0, count: scores.count), groupCount: 1)[0]
    }

    /// Scores with their customer, ascending by score, ties by customer order.
    static func ranked(_ scores: [Double]) -> [(score: Double, index: Int32)] {
        var ranked = scores.enumerated().map { (score: $0.element, index: Int32($0.offset)) }
        ranked.sort { $0.score < $1.score || ($0.score == $1.score && $0.index < $1.index) }
        return ranked
    }

    /// The Mann–Whitney AUC of each group of customers (NaN for a group with one class
    /// only), from mid-ranks within the group, in one walk over the customers in score order.
    static func auc(_ ranked: [(score: Double, index: Int32)], _ labels: [Double], groups: [Int], groupCount: Int) -> [Double] {
        var rankSum = [Double](repeating: 0, count: groupCount)
        var seen = [Double](repeating: 0, count: groupCount)
        var positives = [Double](repeating: 0, count: groupCount)
        var inTie = [Double](repeating: 0, count: groupCount), positivesInTie = [Double](repeating: 0, count: groupCount)
        var start = 0
        while start < ranked.count {
            var end = start + 1
            while end < ranked.count, ranked[end].score == ranked[start].score { end += 1 }
            for k in start..<end {
                let i = Int(ranked[k].index), g = groups[i]
                inTie[g] += 1
                positivesInTie[g] += labels[i]
            }
            for k in start..<end {
                let g = groups[Int(ranked[k].index)]
                guard inTie[g] > 0 else { continue }
                // The tie's members hold ranks seen+1 … seen+inTie within their group.
                rankSum[g] += positivesInTie[g] * (seen[g] + (inTie[g] + 1) / 2)
                seen[g] += inTie[g]
                positives[g] += positivesInTie[g]
                inTie[g] = 0
                positivesInTie[g] = 0
            }
            start = end
        }
        return (0..<groupCount).map { g in
            let negatives = seen[g] - positives[g]
            return (rankSum[g] - positives[g] * (positives[g] + 1) / 2) / (positives[g] * negatives)
        }
    }

}
