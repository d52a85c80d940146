import Benchmark
import Foundation
import Simulation
import Transactions

/// Transactions → customer summaries: reading a synthetic log (BG/NBD purchases with
/// Gamma-Gamma spend, dates in order, about 2.6 transactions per customer) and building the
/// calibration/holdout summary, at 10k, 100k and 1M customers. The log is generated once
/// per size, outside the measurement, into the temporary directory.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 10
    )

    for customers in [10_000, 100_000, 1_000_000] {
        let path = syntheticLog(customers: customers)
        let format = TransactionLogFormat(amountColumn: ColumnReference("amount"), dateFormat: .isoDate)
        let options = SummaryOptions(calibrationEnd: DateFormat.parseArgument("1997-12-31"),
                                     observationEnd: DateFormat.parseArgument("1998-06-30"))

        Benchmark("parse + calibration/holdout summary, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                let log = try TransactionLogReader.read(path: path, format: format)
                blackHole(try CustomerSummary(log: log, options: options))
            }
        }

        Benchmark("parse only, \(customers) customers") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try TransactionLogReader.read(path: path, format: format))
            }
        }

        Benchmark("summary CSV written, \(customers) customers") { benchmark, summary in
            let output = NSTemporaryDirectory() + "clientele-bench-summary-\(customers).csv"
            for _ in benchmark.scaledIterations {
                try summary.writeCSV(to: output)
            }
        } setup: {
            try CustomerSummary(log: try TransactionLogReader.read(path: path, format: format), options: options)
        }
    }
}

/// The synthetic log for a size, generated once and kept in the temporary directory.
func syntheticLog(customers: Int) -> String {
    let path = NSTemporaryDirectory() + "clientele-bench-tx-\(customers)-seed42.csv"
    if !FileManager.default.fileExists(atPath: path) {
        let log = SyntheticTransactionLog(customers: customers, seed: 42)
        try? writeFileAtomically(log.csvBytes(), to: path)
    }
    return path
}
