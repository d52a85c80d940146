import Churn
import Clustering
import LifetimeValue
import Transactions

/// What the report shows, gathered from the stages.
struct ReportData {
    let job: Job
    let customers: Int
    let transactions: Int
    let profiles: [SegmentProfile]
    let labels: [String]
    let segmentation: Segmentation
    let columns: FeatureColumns
    let calibration: CalibrationCheck?
    let aliveMap: AliveMap
    let churn: ChurnOutcome?

    /// Per feature, per segment (in id order): the 5th, 25th, 50th, 75th and 95th percentiles,
    /// which the profiles took with their medians.
    var featureQuantiles: [(feature: String, segments: [[Double]])] {
        let byID = profiles.sorted { $0.id < $1.id }
        return job.segmentation.features.enumerated().map { j, feature in
            (feature, byID.map { $0.features[j].percentiles })
        }
    }
}

/// The purchase model against the holdout, as in Fader, Hardie & Lee (2005), figure 3: the
/// customers grouped by calibration frequency 0, 1, …, 6 and 7 or more, and per group the
/// mean actual holdout purchases beside the model's conditional expectation over the
/// holdout's length.
struct CalibrationCheck {
    static let groups = 8
    var customers: [Int]
    var actual: [Double]
    var predicted: [Double]
    /// The holdout's length, in the job's unit.
    var duration: Double

    /// `histories`: the summary's, grouped (the purchase model's fit had them).
    init?(_ summary: CustomerSummary, histories: PurchaseHistories, model: any PurchasePredicting) {
        guard let holdout = summary.holdout else { return nil }
        let expected = CustomerScores(purchases: model, spend: nil, monthLength: 1, horizon: holdout.duration, months: 1,
                                      discountRate: 0, survivalToHorizon: false, histories: histories,
                                      monetaryValue: nil).expectedPurchases
        var customers = [Int](repeating: 0, count: Self.groups)
        var actual = [Double](repeating: 0, count: Self.groups)
        var predicted = [Double](repeating: 0, count: Self.groups)
        for i in 0..<summary.count {
            let group = min(summary.frequency[i], Self.groups - 1)
            customers[group] += 1
            actual[group] += Double(holdout.frequency[i])
            predicted[group] += expected[i]
        }
        for g in 0..<Self.groups where customers[g] > 0 {
            actual[g] /= Double(customers[g])
            predicted[g] /= Double(customers[g])
        }
        (self.customers, self.actual, self.predicted, duration) = (customers, actual, predicted, holdout.duration)
    }
}

/// P(alive) over frequency × recency for a customer of the longest observed age T, as
/// lifetimes' `plot_probability_alive_matrix` draws it: frequency 0 … the 99th percentile
/// (at most 40), recency in 20 steps from 0 to T.
struct AliveMap {
    static let recencySteps = 20
    let maximumFrequency: Int
    let T: Double
    /// `values[x][r]`: frequency x, recency step r (NaN where frequency 0 has recency > 0).
    let values: [[Double]]

    init(_ summary: CustomerSummary, model: any PurchasePredicting) {
        maximumFrequency = min(40, max(5, Self.percentile99(summary.frequency, above: 40)))
        let T = summary.T.max() ?? 0
        self.T = T
        values = (0...maximumFrequency).map { x in
            (0...Self.recencySteps).map { step in
                let recency = T * Double(step) / Double(Self.recencySteps)
                if x == 0 && step > 0 { return .nan }
                return model.pAlive(frequency: Double(x), recency: recency, T: T)
            }
        }
    }

    /// The frequency at position (n − 1) · 99 / 100 of the sorted frequencies (0 for none), or
    /// `cap + 1` when that is above `cap`: counted in one pass of at most `cap + 2` bins rather
    /// than by sorting a million frequencies.
    static func percentile99(_ frequency: [Int], above cap: Int) -> Int {
        guard !frequency.isEmpty else { return 0 }
        var counts = [Int](repeating: 0, count: cap + 2)
        for x in frequency { counts[min(max(x, 0), cap + 1)] += 1 }
        let position = (frequency.count - 1) * 99 / 100
        var below = 0
        for x in 0...cap {
            below += counts[x]
            if below > position { return x }
        }
        return cap + 1
    }
}
