import Testing
import Simulation
import Transactions
@testable import Churn

@Suite struct ChurnMetricsTests {
    @Test func aucWithTiesAndClippedLogLossEqualScikitLearn() throws {
        let summary = cdnowHoldoutSummary
        let labels = try ChurnLabel.noHoldoutPurchase.labels(summary, source: "CDNOW")
        let metrics = References.loaded.metrics
        let ranking = ScoreMetrics(scores: summary.frequency.map { -Double($0) }, labels: labels, isProbability: false)
        #expect(abs(ranking.auc - metrics["roc_auc_negative_frequency"]!) < 1e-12)
        #expect(ranking.logLoss == nil && ranking.brierScore == nil && ranking.deciles[0].meanPrediction == nil)
        let hard = summary.frequency.map { $0 == 0 ? 1.0 : ($0 > 5 ? 0.0 : 0.4) }
        let probability = ScoreMetrics(scores: hard, labels: labels, isProbability: true)
        #expect(abs(probability.logLoss! - metrics["log_loss_hard"]!) < 1e-9)
        #expect(abs(probability.brierScore! - metrics["brier_hard"]!) < 1e-12)
    }

    /// Twenty customers, eight churned, scores 20 down to 1: worked by hand.
    @Test func decilesByHand() {
        let labels: [Double] = [1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        let scores = (0..<20).map { Double(20 - $0) / 21 }
        let metrics = ScoreMetrics(scores: scores, labels: labels, isProbability: true)
        #expect(metrics.deciles.map(\.customers) == [Int](repeating: 2, count: 10))
        #expect(metrics.deciles.map(\.churned) == [2, 1, 1, 1, 0, 1, 0, 1, 0, 1])
        // The overall rate is 0.4: the first decile (rate 1) lifts 2.5, the second 1.25.
        #expect(abs(metrics.deciles[0].lift - 2.5) < 1e-15 && abs(metrics.deciles[1].lift - 1.25) < 1e-15)
        #expect(metrics.deciles.map(\.cumulativeGain) == [2, 3, 4, 5, 5, 6, 6, 7, 7, 8].map { Double($0) / 8 })
        #expect(metrics.deciles[0].meanPrediction == (20.0 / 21 + 19.0 / 21) / 2)
        // Of the 8 × 12 churned/retained pairs, the churned customer ranks higher in
        // 12 + 12 + 12 + 11 + 9 + 7 + 4 + 0 = 67.
        #expect(metrics.auc == 67.0 / 96)
    }

    @Test func foldAUCIsTheAUCWithinEachFold() {
        let labels: [Double] = [1, 0, 1, 0, 1, 0, 0, 1]
        let scores: [Double] = [0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.4, 0.6]
        let metrics = ScoreMetrics(scores: scores, labels: labels, isProbability: true, folds: [0, 0, 0, 0, 1, 1, 1, 1], foldCount: 2)
        // Fold 0: churned 0.9, 0.2 against retained 0.1, 0.8 → 3 of 4 pairs; fold 1: all 4.
        #expect(metrics.foldAUC == [0.75, 1])
    }

    /// The radix order equals a comparison sort by (score, customer) over negative and positive
    /// scores, both zeros, infinities, heavy ties and digits that every key shares.
    @Test func radixOrderIsTheStableAscendingOrder() {
        var random = SeededRandom(seed: 11)
        let specials: [Double] = [0, -0.0, .infinity, -.infinity, 1e-300, -1e-300, .leastNonzeroMagnitude, 1, -1]
        for n in [0, 1, 2, 17, 5000, 100_000] {
            for ties in [3, 1_000_000] {
                let scores = (0..<n).map { i -> Double in
                    if i % 97 == 5 { return specials[i % specials.count] }
                    return Double(Int.random(in: 0..<ties, using: &random)) / Double(ties) * (i % 3 == 0 ? -1 : 1) * 1e3
                }
                let expected = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                let (order, sorted) = Ranking.ascending(scores)
                #expect(order.map(Int.init) == expected, "n \(n), ties \(ties)")
                #expect(sorted == expected.map { scores[$0] }, "n \(n), ties \(ties)")
            }
        }
        // Scores that share the top 33 bits the passes sort and differ below them, of either
        // sign: runs of two or three (put in order one by one), with and without ties; runs of
        // hundreds with ties (sorted whole); runs of thousands with and without ties (radix
        // passes over the low bits).
        for (n, prefixes, spread) in [(100_000, UInt64(50_000), UInt64(1) << 31), (20_000, 8_000, 4), (20_000, 100, 64),
                                      (10_000, 1, 8), (60_000, 3, UInt64(1) << 20), (30_000, 2, UInt64(1) << 31)] {
            let scores = (0..<n).map { i -> Double in
                let bits = 0.75.bitPattern + UInt64.random(in: 0..<prefixes, using: &random) << 31 + UInt64.random(in: 0..<spread, using: &random)
                return Double(bitPattern: bits) * (i % 5 == 0 ? -1 : 1)
            }
            let expected = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            let (order, sorted) = Ranking.ascending(scores)
            #expect(order.map(Int.init) == expected, "n \(n), prefixes \(prefixes), spread \(spread)")
            #expect(sorted == expected.map { scores[$0] })
        }
    }

    /// Metrics taken per group of customers that share a score are the customer-wise metrics
    /// to the bit: many groups per tie, ties cut by decile boundaries, both zeros, folds, a
    /// single tie, fewer customers than deciles, and groups without customers.
    @Test func groupedScoresGiveTheCustomerWiseMetrics() {
        var random = SeededRandom(seed: 5)
        for (n, groups, levels) in [(10_007, 300, 40), (2_000, 50, 1), (7, 5, 3), (5_000, 2_000, 1_000_000)] {
            let values = (0..<levels).map { Double($0) / Double(max(1, levels - 1)) }
            var groupScores = (0..<groups).map { _ in values[Int.random(in: 0..<levels, using: &random)] }
            if groups > 10 { groupScores[3] = -0.0 }
            let groupOf = (0..<n).map { _ in Int32(Int.random(in: 0..<min(groups, max(1, groups - 2)), using: &random)) }
            let labels = (0..<n).map { i in Double.random(in: 0..<1, using: &random) < 0.3 + 0.5 * groupScores[Int(groupOf[i])] ? 1.0 : 0.0 }
            let folds = (0..<n).map { _ in Int.random(in: 0..<5, using: &random) }
            let scores = groupOf.map { groupScores[Int($0)] }
            for isProbability in [true, false] {
                let grouped = ScoreMetrics(groupOf: groupOf, groupScores: groupScores, labels: labels, isProbability: isProbability,
                                           folds: folds, foldCount: 5)
                let customerWise = ScoreMetrics(scores: scores, labels: labels, isProbability: isProbability, folds: folds, foldCount: 5)
                // A fold of one class has a NaN AUC, equal to itself only bit for bit.
                #expect(grouped.foldAUC.map(\.bitPattern) == customerWise.foldAUC.map(\.bitPattern))
                var (left, right) = (grouped, customerWise)
                (left.foldAUC, right.foldAUC) = ([], [])
                #expect(left == right, "\(n) customers, \(groups) groups, \(levels) levels")
            }
        }
    }
}
