/// A job's result directory with the files and columns of design.md ("Result directory"),
/// filled with plausible random values from a seed: the data of the CRM export's tests and
/// benchmarks, which need result directories of any size without running the pipeline.
///
/// Each customer is put in a segment uniformly at random; frequency is a whole number of
/// repeat purchases, recency ≤ T, P(alive) and churn probability lie in [0, 1], and about one
/// customer in fifty has no churn probability (`nan`, as the pipeline writes a value it could
/// not compute). profiles.csv summarises exactly these rows (sizes, shares, means, medians;
/// centroids are the means; CLV and P(alive) are features, so `mean_clv` and `mean_p_alive`
/// are written once, among the features' columns). One segment label holds a comma, so that
/// quoting is exercised.
import Foundation

public struct SyntheticResultDirectory: Sendable {
    public var name: String
    public var customers: Int
    public var segments: Int
    public var seed: UInt64
    /// The models' creation time, which the export takes as the run's.
    public var createdAt: String

    public static let features = ["recency", "frequency", "monetary_value", "clv", "p_alive"]
    static let labels = ["champions", "loyal, high value", "at risk", "hibernating", "new", "promising"]

    public init(name: String = "synthetic", customers: Int, segments: Int = 4, seed: UInt64 = 42,
                createdAt: String = "2026-11-30T09:00:00Z") {
        precondition(segments >= 1 && customers >= 1)
        self.name = name
        self.customers = customers
        self.segments = segments
        self.seed = seed
        self.createdAt = createdAt
    }

    public static func label(ofSegment segment: Int) -> String {
        segment < labels.count ? labels[segment] : "segment \(segment)"
    }

    /// Writes job.json, profiles.csv, assignments.csv and models/bgnbd.json into `directory`,
    /// creating it.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        let job = """
            {"name": "\(name)", "models": {"purchase": "bgnbd", "spend": "gamma-gamma", "horizon": 52}, \
            "segmentation": {"method": "kmeans", "k": \(segments), "seed": \(seed)}}
            """
        let model = """
            {"model": "bgnbd", "parameters": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}, \
            "createdAt": "\(createdAt)", "clienteleVersion": "0.1.0", "formatVersion": 1}
            """
        try Data(job.utf8).write(to: URL(fileURLWithPath: directory + "/job.json"))
        try Data(model.utf8).write(to: URL(fileURLWithPath: directory + "/models/bgnbd.json"))

        var random = SeededRandom(seed: seed)
        let header = "customer_id,segment,segment_label,frequency,recency,T,monetary_value,expected_purchases,p_alive,churn_probability,clv\n"
        var assignments = Array(header.utf8)
        assignments.reserveCapacity(customers * 160)
        let quotedLabels = (0..<segments).map { Array(csvField(Self.label(ofSegment: $0)).utf8) }
        var featureValues = [[[Double]]](repeating: [[Double]](repeating: [], count: Self.features.count), count: segments)
        var churned = [Int](repeating: 0, count: segments)
        for customer in 0..<customers {
            let segment = Int(random.next() % UInt64(segments))
            let T = 1 + 77 * random.uniform()
            let frequency = Double(Int(random.exponential(rate: 0.5)))
            let recency = frequency == 0 ? 0 : T * random.uniform()
            let monetary = frequency == 0 ? 0 : random.gamma(shape: 6.25, rate: 0.25)
            let pAlive = random.beta(2, 1)
            let expected = pAlive * (frequency + 0.25) * 52 / (T + 4.4)
            let churn = random.next() % 50 == 0 ? Double.nan : 1 - pAlive * random.uniform()
            let clv = expected * monetary * 0.9
            if churn > 0.5 { churned[segment] += 1 }
            for (f, value) in [recency, frequency, monetary, clv, pAlive].enumerated() { featureValues[segment][f].append(value) }

            assignments.append(contentsOf: "C\(1_000_000 + customer),\(segment),".utf8)
            assignments.append(contentsOf: quotedLabels[segment])
            for value in [frequency, recency, T, monetary, expected, pAlive, churn, clv] {
                assignments.append(0x2C)
                assignments.append(contentsOf: "\(value)".utf8)
            }
            assignments.append(0x0A)
        }
        try Data(assignments).write(to: URL(fileURLWithPath: directory + "/assignments.csv"))

        var profiles = "id,label,size,share,share_of_clv,"
            + Self.features.flatMap { f in ["mean", "median", "centroid"].map { "\($0)_\(f)" } }.joined(separator: ",")
            + ",churn_rate,total_clv\n"
        let clvIndex = Self.features.firstIndex(of: "clv")!
        let totalCLV = featureValues.reduce(0) { $0 + $1[clvIndex].reduce(0, +) }
        for segment in 0..<segments {
            let values = featureValues[segment]
            let size = values[0].count
            let mean = values.map { $0.isEmpty ? Double.nan : $0.reduce(0, +) / Double($0.count) }
            let median = values.map { column -> Double in
                guard !column.isEmpty else { return .nan }
                let sorted = column.sorted()
                return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            }
            let segmentCLV = values[clvIndex].reduce(0, +)
            var row: [String] = [String(segment), csvField(Self.label(ofSegment: segment)), String(size),
                                 "\(Double(size) / Double(customers))", "\(segmentCLV / totalCLV)"]
            for f in Self.features.indices { row += ["\(mean[f])", "\(median[f])", "\(mean[f])"] }
            row += ["\(size == 0 ? Double.nan : Double(churned[segment]) / Double(size))",
                    "\(segmentCLV)"]
            profiles += row.joined(separator: ",") + "\n"
        }
        try Data(profiles.utf8).write(to: URL(fileURLWithPath: directory + "/profiles.csv"))
    }

    private func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
