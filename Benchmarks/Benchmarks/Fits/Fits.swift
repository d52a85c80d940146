import Benchmark
import Foundation
import LifetimeValue
import LinearAlgebra
import Simulation
import Transactions

/// Maximum-likelihood fits and scoring on the calibration summary (weeks) of a synthetic log:
/// BG/NBD purchases with Gamma-Gamma spend, about 2.6 transactions per customer, at 10k, 100k
/// and 1M customers. Each measurement includes grouping the customers into distinct histories.
let benchmarks: @Sendable () -> Void = {
    // As `clientele` does: each BLAS call on its caller's thread (see BLASLibrary).
    BLASLibrary.keepCallsOnTheirThread()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 10
    )

    for customers in [10_000, 100_000, 1_000_000] {
        let summary = calibrationSummary(customers: customers)
        let x = summary.frequency.map(Double.init), tx = summary.recency, T = summary.T
        let monetary = summary.monetaryValue ?? []

        Benchmark("BG/NBD fit, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try BGNBD.fit(try PurchaseHistories(frequency: x, recency: tx, T: T)))
            }
        }
        Benchmark("MBG/NBD fit, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try MBGNBD.fit(try PurchaseHistories(frequency: x, recency: tx, T: T)))
            }
        }
        Benchmark("Pareto/NBD fit, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try ParetoNBD.fit(try PurchaseHistories(frequency: x, recency: tx, T: T)))
            }
        }
        Benchmark("Gamma-Gamma fit, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try GammaGamma.fit(frequency: x, monetaryValue: monetary))
            }
        }
        Benchmark("CLV 12 months + P(alive) + expected purchases, \(customers) customers") { benchmark, models in
            for _ in benchmark.scaledIterations {
                blackHole(CustomerScores(purchases: models.0, spend: models.1, monthLength: 4.345, horizon: 52, months: 12,
                                         discountRate: 0.01, frequency: x, recency: tx, T: T, monetaryValue: monetary))
            }
        } setup: {
            (try BGNBD.fit(try PurchaseHistories(frequency: x, recency: tx, T: T)).model,
             try GammaGamma.fit(frequency: x, monetaryValue: monetary).model)
        }
        // DERT on top of the scores (the nodes of its Mellin–Barnes integral once per frequency).
        Benchmark("DERT + P(alive) + expected purchases, BG/NBD, \(customers) customers") { benchmark, model in
            for _ in benchmark.scaledIterations {
                blackHole(CustomerScores(purchases: model, spend: nil, monthLength: 4.345, horizon: 52, months: 1, discountRate: 0.01,
                                         residualRate: log(1.01) / 4.345, frequency: x, recency: tx, T: T, monetaryValue: nil))
            }
        } setup: {
            try BGNBD.fit(try PurchaseHistories(frequency: x, recency: tx, T: T)).model
        }
    }
}

/// The calibration summary (to 1997-12-31, in weeks) of the seeded synthetic log.
func calibrationSummary(customers: Int) -> CustomerSummary {
    let log = SyntheticTransactionLog(customers: customers, seed: 42)
    let path = NSTemporaryDirectory() + "clientele-bench-tx-\(customers)-seed42.csv"
    if !FileManager.default.fileExists(atPath: path) { try? writeFileAtomically(log.csvBytes(), to: path) }
    let format = TransactionLogFormat(amountColumn: ColumnReference("amount"), dateFormat: .isoDate)
    let options = SummaryOptions(unit: .weeks, calibrationEnd: DateFormat.parseArgument("1997-12-31"))
    return try! CustomerSummary(log: try! TransactionLogReader.read(path: path, format: format), options: options)
}
