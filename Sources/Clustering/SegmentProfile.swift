import Dispatch
/// What a segment looks like, for analysts and the CRM: its size and share, its share of the
/// total CLV, the mean and median (and, for the report, four more percentiles) of every
/// feature in original units, its centroid (in original units), and the mean P(alive), churn
/// rate and CLV where those columns exist.
///
/// Labels are read off the centroid: each feature's centroid value as a z-score against all
/// customers (mean and population sd of the original column); the two features furthest from
/// the average (|z| ≥ 0.25, largest first, ties by feature order) give the words, through
/// `LabelVocabulary`. A segment with no such feature is "Typical". When two segments would
/// share a label, the later one (by id) takes one more feature; if all features are used and
/// the label is still taken, its id is appended. Labels are thus deterministic and distinct.
public struct SegmentProfile: Sendable, Codable, Equatable {
    public struct FeatureSummary: Sendable, Codable, Equatable {
        public let name: String
        public let mean: Double
        public let median: Double
        /// The centroid's coordinate, in original units.
        public let centroid: Double
        /// The members' 5th, 25th, 50th (the median), 75th and 95th percentiles
        /// (`percentileLevels`), for the report's distributions; not saved with the profile.
        public var percentiles: [Double] = []

        public static let percentileLevels = [0.05, 0.25, 0.5, 0.75, 0.95]

        private enum CodingKeys: String, CodingKey { case name, mean, median, centroid }

        /// Equal as saved: a profile read back from its JSON equals the one written.
        public static func == (x: FeatureSummary, y: FeatureSummary) -> Bool {
            (x.name, x.mean, x.median, x.centroid) == (y.name, y.mean, y.median, y.centroid)
        }

        init(name: String, mean: Double, centroid: Double, percentiles: [Double]) {
            (self.name, self.mean, self.median, self.centroid, self.percentiles) = (name, mean, percentiles[2], centroid, percentiles)
        }
    }

    public let id: Int
    public let label: String
    public let size: Int
    /// size / all customers.
    public let share: Double
    public let features: [FeatureSummary]
    /// The segment's CLV over all customers' CLV (nil without a CLV column or when the total is 0).
    public let shareOfCLV: Double?
    public let totalCLV: Double?
    public let meanCLV: Double?
    public let meanPAlive: Double?
    /// The mean churn probability (or the share churned, for 0/1 churn labels).
    public let churnRate: Double?

    /// The columns a profile reads besides the features: each optional, one value per customer.
    public struct Outcomes: Sendable {
        public var clv: [Double]?
        public var pAlive: [Double]?
        public var churn: [Double]?

        public init(clv: [Double]? = nil, pAlive: [Double]? = nil, churn: [Double]? = nil) {
            self.clv = clv
            self.pAlive = pAlive
            self.churn = churn
        }
    }

    /// One profile per segment 0..<centroids.count, in id order. `features` are the original
    /// columns by name; `centroids` are in original units (e.g. `FeaturePreparation.originalUnits`).
    public static func profiles(labels: [Int], centroids: [[Double]], features: [(name: String, values: [Double])],
                                outcomes: Outcomes = Outcomes()) throws -> [SegmentProfile] {
        try profiles(labels: labels, centroids: centroids, names: nil, features: features, outcomes: outcomes)
    }

    /// Profiles of segments that already have names (`names[c]` for segment c), such as RFM
    /// segments; each centroid is its segment's feature means. Empty segments are left out.
    public static func profiles(labels: [Int], names: [String], features: [(name: String, values: [Double])],
                                outcomes: Outcomes = Outcomes()) throws -> [SegmentProfile] {
        var sums = [[Double]](repeating: [Double](repeating: 0, count: features.count), count: names.count)
        var sizes = [Int](repeating: 0, count: names.count)
        for (i, label) in labels.enumerated() where (0..<names.count).contains(label) {
            sizes[label] += 1
            for (j, feature) in features.enumerated() where i < feature.values.count { sums[label][j] += feature.values[i] }
        }
        let centroids = zip(sums, sizes).map { sum, size in sum.map { $0 / Double(max(size, 1)) } }
        return try profiles(labels: labels, centroids: centroids, names: names, features: features, outcomes: outcomes)
            .filter { $0.size > 0 }
    }

    private static func profiles(labels: [Int], centroids: [[Double]], names given: [String]?,
                                 features: [(name: String, values: [Double])], outcomes: Outcomes) throws -> [SegmentProfile] {
        let (n, k) = (labels.count, centroids.count)
        guard n > 0, labels.allSatisfy({ (0..<k).contains($0) }) else {
            throw ClusteringError.invalidArgument("profiles need at least one customer and labels in 0..<\(k)")
        }
        for column in features.map(\.values) + [outcomes.clv, outcomes.pAlive, outcomes.churn].compactMap({ $0 }) {
            guard column.count == n else { throw ClusteringError.invalidArgument("every profile column needs \(n) values") }
        }
        guard centroids.allSatisfy({ $0.count == features.count }) else {
            throw ClusteringError.invalidArgument("centroids need \(features.count) coordinates, one per feature")
        }
        precondition(n <= Int(Int32.max), "customers are numbered in 32 bits")
        // Each segment's customers in order, one stretch each of one array (a counting sort).
        var starts = [Int](repeating: 0, count: k + 1)
        for label in labels { starts[label + 1] += 1 }
        for c in 0..<k { starts[c + 1] += starts[c] }
        let sorted = [Int32](unsafeUninitializedCapacity: n) { target, initialised in
            var next = starts
            for (i, label) in labels.enumerated() {
                target[next[label]] = Int32(truncatingIfNeeded: i)
                next[label] += 1
            }
            initialised = n
        }
        let members = (0..<k).map { sorted[starts[$0]..<starts[$0 + 1]] }
        // Side by side on the cores: each segment's mean and median of each feature (a median
        // is a gather and a selection over the segment's members), each segment's outcomes,
        // each feature's mean and deviation over everyone (for the labels), and the total CLV.
        let d = features.count
        var results = [PartOfProfiles?](repeating: nil, count: k * d + k + d + 1)
        results.withUnsafeMutableBufferPointer { slots in
            let shared = UnsafeSendable(slots)
            DispatchQueue.concurrentPerform(iterations: slots.count) { task in
                switch task {
                case ..<(k * d):
                    let (c, j) = task.quotientAndRemainder(dividingBy: d)
                    let (rows, values) = (members[c], features[j].values)
                    // Gathered with their least and greatest in the same pass.
                    var least = Double.infinity, greatest = -Double.infinity
                    var memberValues = [Double](unsafeUninitializedCapacity: rows.count) { target, initialised in
                        values.withUnsafeBufferPointer { values in
                            rows.withUnsafeBufferPointer { rows in
                                for (k, row) in rows.enumerated() {
                                    let value = values[Int(row)]
                                    least = min(least, value)
                                    greatest = max(greatest, value)
                                    target[k] = value
                                }
                            }
                        }
                        initialised = rows.count
                    }
                    // A centroid that is its members' weighted mean in the prepared space, whose
                    // steps are monotone (or clip), lies between their least and greatest values
                    // in original units; undoing the steps can leave it a rounding outside
                    // (−4e-14 for a segment whose members all have 0), which is mended. A
                    // centroid further out (the last update before the members were assigned
                    // again, at the iteration cap) is reported as it is.
                    var centroid = centroids[c][j]
                    if !rows.isEmpty {
                        let rounding = 1e-9 * max(1, abs(least), abs(greatest))
                        if centroid < least, centroid >= least - rounding { centroid = least }
                        if centroid > greatest, centroid <= greatest + rounding { centroid = greatest }
                    }
                    shared.value[task] = .feature(FeatureSummary(
                        name: features[j].name, mean: memberMean(values, rows) ?? .nan, centroid: centroid,
                        percentiles: quantiles(reordering: &memberValues, at: FeatureSummary.percentileLevels)))
                case ..<(k * d + k):
                    let rows = members[task - k * d]
                    shared.value[task] = .outcomes(clv: outcomes.clv.map { clv in rows.reduce(0) { $0 + clv[Int($1)] } },
                                                   meanCLV: memberMean(outcomes.clv, rows), meanPAlive: memberMean(outcomes.pAlive, rows),
                                                   churnRate: memberMean(outcomes.churn, rows))
                case ..<(k * d + k + d):
                    // Named segments need no scales.
                    shared.value[task] = .scale(given == nil ? scale(features[task - k * d - k].values) : (0, 0))
                default:
                    shared.value[task] = .totalCLV(outcomes.clv.map { $0.reduce(0, +) })
                }
            }
        }
        let scales = (0..<d).map { j in
            guard case .scale(let scale) = results[k * d + k + j] else { preconditionFailure("a feature's scale") }
            return scale
        }
        guard case .totalCLV(let totalCLV) = results.last! else { preconditionFailure("the total CLV") }
        let means = (0..<k).map { c in
            (0..<d).map { j -> Double in
                guard case .feature(let summary) = results[c * d + j] else { preconditionFailure("a feature summary") }
                return summary.mean
            }
        }
        let names = given ?? segmentLabels(centroids: centroids, features: features, scales: scales, means: means)
        return (0..<k).map { c in
            let rows = members[c]
            let summaries = (0..<d).map { j in
                guard case .feature(let summary) = results[c * d + j] else { preconditionFailure("a feature summary") }
                return summary
            }
            guard case .outcomes(let clvTotal, let meanCLV, let meanPAlive, let churnRate) = results[k * d + c] else {
                preconditionFailure("a segment's outcomes")
            }
            return SegmentProfile(id: c, label: names[c], size: rows.count, share: Double(rows.count) / Double(n),
                                  features: summaries,
                                  shareOfCLV: clvTotal.flatMap { part in totalCLV.flatMap { $0 != 0 ? part / $0 : nil } },
                                  totalCLV: clvTotal, meanCLV: meanCLV, meanPAlive: meanPAlive, churnRate: churnRate)
        }
    }

    /// One result of the profiles' tasks.
    private enum PartOfProfiles {
        case feature(FeatureSummary)
        case outcomes(clv: Double?, meanCLV: Double?, meanPAlive: Double?, churnRate: Double?)
        case scale((mean: Double, sd: Double))
        case totalCLV(Double?)
    }

    /// The mean of `column` over the customers `rows` (nil without a column or members).
    private static func memberMean(_ column: [Double]?, _ rows: ArraySlice<Int32>) -> Double? {
        guard let column, !rows.isEmpty else { return nil }
        return rows.reduce(0) { $0 + column[Int($1)] } / Double(rows.count)
    }

    /// `means`: each segment's members' mean of each feature (the centroids when not given).
    static func segmentLabels(centroids: [[Double]], features: [(name: String, values: [Double])], means: [[Double]]? = nil) -> [String] {
        segmentLabels(centroids: centroids, features: features, scales: features.map { scale($0.values) }, means: means ?? centroids)
    }

    /// A column's mean and population standard deviation, against which centroids are read.
    private static func scale(_ values: [Double]) -> (mean: Double, sd: Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }

    private static func segmentLabels(centroids: [[Double]], features: [(name: String, values: [Double])],
                                      scales: [(mean: Double, sd: Double)], means: [[Double]]) -> [String] {
        var taken = Set<String>()
        let frequency = features.firstIndex { $0.name.lowercased() == "frequency" }
        return centroids.enumerated().map { c, centroid in
            let scores = centroid.enumerated().map { j, x in scales[j].sd > 0 ? (x - scales[j].mean) / scales[j].sd : 0 }
            // BG/NBD and its kin give every customer without a repeat purchase P(alive) = 1: a
            // segment of one-time buyers (its members' mean frequency below a half; not the
            // centroid, which a log1p step pulls below the mean) is named as such first, and
            // its high P(alive), which says who they are rather than that they are active
            // (their churn rate can be 95%), is not called "Likely alive".
            let oneTimeBuyers = frequency.map { means[c][$0] < 0.5 } ?? false
            let ranked = scores.indices.filter { j in
                abs(scores[j]) >= 0.25
                    && !(oneTimeBuyers && (j == frequency || (scores[j] > 0 && features[j].name.lowercased() == "p_alive")))
            }.sorted { abs(scores[$0]) > abs(scores[$1]) || (abs(scores[$0]) == abs(scores[$1]) && $0 < $1) }
            let lead = oneTimeBuyers ? ["One-time buyers"] : []
            func label(_ count: Int) -> String {
                let words = lead + ranked.prefix(count).map { LabelVocabulary.words(for: features[$0].name, high: scores[$0] > 0) }
                return words.isEmpty ? "Typical" : words.joined(separator: " · ")
            }
            var count = min(2 - lead.count, ranked.count)
            var candidate = label(count)
            while taken.contains(candidate) && count < ranked.count {
                count += 1
                candidate = label(count)
            }
            if taken.contains(candidate) { candidate += " (\(c))" }
            taken.insert(candidate)
            return candidate
        }
    }
}

/// Words for a feature far above or below the average, in the domain's terms. Summary columns
/// follow lifetimes: `recency` is the age at the last purchase, the span from the first
/// purchase to the last, which says nothing of how lately a customer bought without T (a
/// customer who bought once yesterday has recency 0): it is named as the span it is.
public enum LabelVocabulary {
    static let known: [String: (high: String, low: String)] = [
        "monetary_value": ("High value", "Low value"),
        "clv": ("High CLV", "Low CLV"),
        "expected_spend": ("High spend", "Low spend"),
        "frequency": ("Frequent", "Infrequent"),
        "recency": ("Long purchase span", "Short purchase span"),
        "t": ("Long-standing", "New"),
        "p_alive": ("Likely alive", "Likely lapsed"),
        "churn_probability": ("Churn risk", "Low churn risk"),
        "expected_purchases": ("Buying soon", "Few purchases expected"),
    ]

    public static func words(for feature: String, high: Bool) -> String {
        if let pair = known[feature.lowercased()] { return high ? pair.high : pair.low }
        return "\(high ? "High" : "Low") \(feature)"
    }
}
