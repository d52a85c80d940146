import Benchmark
import Clustering
import Foundation
import LinearAlgebra
import Segmentation
import Simulation
import Transactions

/// A whole job, end to end, and the segment profiles on their own, at 10k, 100k and 1M
/// customers.
///
/// End to end is `clientele run` without the process: the job of the README's scale table
/// (weeks, calibration to 1997-12-31, observation to 1998-06-30, BG/NBD + Gamma-Gamma +
/// logistic churn with 5-fold cross-validation, k-means k = 5 with 3 initialisations on
/// recency, frequency, monetary value, CLV and P(alive)) over the synthetic log, from reading
/// it to the published result directory. Profiles are `SegmentProfile.profiles` on that
/// job's features and labels (means, medians and the CLV, P(alive) and churn outcomes).
/// The logs and the profiles' inputs are made once, outside the measurement.
let benchmarks: @Sendable () -> Void = {
    // As `clientele` does: each BLAS call on its caller's thread (see BLASLibrary).
    BLASLibrary.keepCallsOnTheirThread()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 10
    )

    for customers in [10_000, 100_000, 1_000_000] {
        Benchmark("end to end (clientele run), \(customers) customers") { benchmark, job in
            let output = NSTemporaryDirectory() + "clientele-bench-run-\(customers)"
            for _ in benchmark.scaledIterations {
                benchmark.startMeasurement()
                blackHole(try Pipeline.run(job: job, output: output, clienteleVersion: "benchmark"))
                benchmark.stopMeasurement()
                try FileManager.default.removeItem(atPath: output)
            }
        } setup: {
            try scaleJob(customers: customers)
        }

        Benchmark("segment profiles, \(customers) customers, k = 5") { benchmark, input in
            for _ in benchmark.scaledIterations {
                blackHole(try SegmentProfile.profiles(labels: input.labels, centroids: input.centroids,
                                                      features: input.features, outcomes: input.outcomes))
            }
        } setup: {
            try profileInput(customers: customers)
        }
    }
}

/// The README's scale job over the synthetic log of `customers` (generated once into the
/// temporary directory).
func scaleJob(customers: Int) throws -> Job {
    let log = NSTemporaryDirectory() + "clientele-bench-tx-\(customers)-seed42.csv"
    if !FileManager.default.fileExists(atPath: log) {
        try writeFileAtomically(SyntheticTransactionLog(customers: customers, seed: 42).csvBytes(), to: log)
    }
    let text = """
        {"name": "scale-\(customers)",
         "transactions": {"path": "\(log)", "customer": "customer_id", "date": "date", "amount": "amount", "dateFormat": "yyyy-MM-dd"},
         "period": {"unit": "weeks", "calibrationEnd": "1997-12-31", "observationEnd": "1998-06-30"},
         "models": {"purchase": "bgnbd", "spend": "gamma-gamma", "churn": "logistic", "horizon": 52, "discountRate": 0.01},
         "segmentation": {"method": "kmeans", "k": 5, "seed": 42, "nInit": 3,
                          "features": ["recency", "frequency", "monetary_value", "clv", "p_alive"]}}
        """
    return try JobValidation.validate(bytes: Array(text.utf8), source: NSTemporaryDirectory() + "scale-\(customers).json")
}

struct ProfileInput {
    var labels: [Int]
    var centroids: [[Double]]
    var features: [(name: String, values: [Double])]
    var outcomes: SegmentProfile.Outcomes
}

/// Five features and three outcomes of seeded values, and labels from the nearest of five
/// centroids, so that segment sizes are uneven as real ones are.
func profileInput(customers n: Int) throws -> ProfileInput {
    var random = SeededRandom(seed: 42)
    let names = ["recency", "frequency", "monetary_value", "clv", "p_alive"]
    let features = names.map { name in (name: name, values: (0..<n).map { _ in random.exponential(rate: 0.1) }) }
    let centroids = (0..<5).map { c in names.indices.map { j in Double(2 * c + j) } }
    let labels = (0..<n).map { i in
        (0..<5).min { a, b in
            names.indices.reduce(0.0) { $0 + pow(features[$1].values[i] - centroids[a][$1], 2) }
                < names.indices.reduce(0.0) { $0 + pow(features[$1].values[i] - centroids[b][$1], 2) }
        }!
    }
    let outcomes = SegmentProfile.Outcomes(clv: features[3].values, pAlive: (0..<n).map { _ in random.uniform() },
                                           churn: (0..<n).map { _ in random.uniform() })
    return ProfileInput(labels: labels, centroids: centroids, features: features, outcomes: outcomes)
}
