import Benchmark
import CRMStore
import Foundation
import Logging
import PostgresNIO
import Simulation

/// A result directory → the CRM database: a synthetic run of 10k, 100k and 1M customers in 4 segments
/// (at 1M an assignments.csv of 150 MB, generated once into the temporary directory), loaded into a
/// new SQLite file, and into PostgreSQL through COPY when a server is given
/// (CLIENTELE_TEST_POSTGRES_URL and PGPASSWORD, as `scripts/with-postgres make benchmark`
/// sets them). Each load is a first export of the run, as the worker does it: the SQLite
/// file is removed and the PostgreSQL tables emptied before each iteration, inside the
/// measurement (a few milliseconds).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 5
    )
    for customers in [10_000, 100_000, 1_000_000] {
        let result = syntheticResult(customers: customers)

        Benchmark("SQLite export, \(customers) customers") { benchmark in
            let path = NSTemporaryDirectory() + "clientele-bench-crm.db"
            for _ in benchmark.scaledIterations {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                blackHole(try CRMExporter.export(resultDirectory: result, database: .sqlite(path: path)))
            }
        }

        if let url = ProcessInfo.processInfo.environment["CLIENTELE_TEST_POSTGRES_URL"],
           case .postgres(let server)? = try? DatabaseLocation(parsing: url) {
            let database = DatabaseLocation.postgres(server)
            Benchmark("PostgreSQL COPY export, \(customers) customers") { benchmark in
                for _ in benchmark.scaledIterations {
                    try await emptyTables(server)
                    blackHole(try await CRMExporter.export(resultDirectory: result, database: database))
                }
            }
        }
    }
}

/// The synthetic result directory for a size, generated once and kept in the temporary
/// directory.
func syntheticResult(customers: Int) -> String {
    let path = NSTemporaryDirectory() + "clientele-bench-result-\(customers)"
    if !FileManager.default.fileExists(atPath: path + "/profiles.csv") {
        try? SyntheticResultDirectory(name: "benchmark", customers: customers).write(to: path)
    }
    return path
}

/// Empties the CRM tables (when they exist), so that each iteration is a first export.
func emptyTables(_ server: PostgresServer) async throws {
    let logger = Logger(label: "crm-benchmark", factory: { _ in SwiftLogNoOpLogHandler() })
    let connection = try await PostgresConnection.connect(
        configuration: .init(host: server.host, port: server.port, username: server.user,
                             password: ProcessInfo.processInfo.environment["PGPASSWORD"], database: server.database, tls: .disable),
        id: 1, logger: logger)
    try await connection.query("""
        DO $$ BEGIN
            IF to_regclass('runs') IS NOT NULL THEN TRUNCATE runs, segments, customer_segments; END IF;
        END $$
        """, logger: logger)
    try await connection.close()
}
