/// Loads a run into an SQLite file: one `BEGIN IMMEDIATE` transaction that replaces the
/// run's rows, one prepared INSERT reused for every customer, the database in WAL mode.
///
/// Why GRDB.swift rather than sqlite-nio: GRDB is synchronous and hands out its prepared,
/// cached statements and the raw `sqlite3_stmt`, so a bulk load binds and steps one
/// statement in a plain loop on the calling thread. sqlite-nio runs every statement through
/// a SwiftNIO thread pool and an event loop future, which a million single-row inserts pay
/// for row by row, and it has no statement cache to reuse a prepared INSERT.
///
/// Hazards and their guards:
/// - A killed process or a failure part-way: every change is in the one transaction, so
///   SQLite's WAL recovery or the rollback leaves the database as it was.
/// - Two exports at once: SQLite has one writer; `BEGIN IMMEDIATE` takes the write lock at
///   the start (a deferred transaction upgrading later could fail with SQLITE_BUSY), and the
///   busy timeout lets the second export wait for the first instead of failing.
/// - `synchronous = NORMAL`: in WAL mode a commit survives a killed process; only a power
///   loss may undo the last commits, never corrupt the file.
/// - The per-row bind goes straight to `sqlite3_bind_*`: building GRDB's `StatementArguments`
///   for each of a million rows costs more than the insert itself.
/// - Reading and checking the CSV takes about as long as the inserts, so it runs on a second
///   thread (`AssignmentBatches`) while this one inserts.
import GRDB
import GRDBSQLite

enum SQLiteExport {
    /// How long an export waits for another export holding the write lock.
    static let busyTimeout: Double = 600

    static func export(_ run: RunResult, path: String) throws -> ExportSummary {
        let rows = try AssignmentRows(path: run.assignmentsPath, segments: run.segments)
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Room for a million-customer run's pages, so the transaction does not spill to
            // the WAL before its commit.
            try db.execute(sql: "PRAGMA cache_size = -262144")
        }
        let location = "sqlite:\(path)"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.writeWithoutTransaction { db in
                try migrate(db)
                var summary: ExportSummary!
                try db.inTransaction(.immediate) {
                    summary = try replaceRun(run, rows: rows, in: db, location: location)
                    return .commit
                }
                return summary
            }
        } catch let error as DatabaseError {
            throw CRMStoreError.database(location, error.message ?? "\(error.resultCode)")
        }
    }

    private static func migrate(_ db: Database) throws {
        try db.inTransaction(.immediate) {
            try db.execute(sql: Schema.migrationsTable)
            let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM clientele_schema_migrations"))
            for migration in Schema.migrations where !applied.contains(migration.version) {
                for statement in migration.sqlite { try db.execute(sql: statement) }
                try db.execute(sql: "INSERT INTO clientele_schema_migrations (version, summary) VALUES (?, ?)",
                               arguments: [migration.version, migration.summary])
            }
            return .commit
        }
    }

    private static func replaceRun(_ run: RunResult, rows: AssignmentRows, in db: Database, location: String) throws -> ExportSummary {
        let replaced = try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE job_id = ?", arguments: [run.jobID]) ?? false
        let runID = try Int64.fetchOne(db, sql: """
            INSERT INTO runs (job_id, name, created, clientele_version, job, models, k) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (job_id) DO UPDATE SET name = excluded.name, created = excluded.created,
                clientele_version = excluded.clientele_version, job = excluded.job, models = excluded.models, k = excluded.k
            RETURNING id
            """, arguments: [run.jobID, run.name, run.created, run.clienteleVersion, run.job, run.models, run.k])!
        try db.execute(sql: "DELETE FROM customer_segments WHERE run_id = ?", arguments: [runID])
        try db.execute(sql: "DELETE FROM segments WHERE run_id = ?", arguments: [runID])
        for segment in run.segments {
            try db.execute(sql: """
                INSERT INTO segments (run_id, segment_id, label, size, share, share_of_clv, mean_p_alive, churn_rate,
                                      total_clv, mean_clv, feature_statistics)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, segment.id, segment.label, segment.size, segment.share, segment.shareOfCLV,
                                 segment.meanPAlive, segment.churnRate, segment.totalCLV, segment.meanCLV,
                                 segment.featureStatistics])
        }

        let columns = Schema.customerColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: Schema.customerColumns.count).joined(separator: ", ")
        let insert = try db.cachedStatement(sql: "INSERT INTO customer_segments (\(columns)) VALUES (\(placeholders))")
        let statement = insert.sqliteStatement
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        sqlite3_bind_int64(statement, 1, runID)
        let labels = Dictionary(uniqueKeysWithValues: run.segments.map { ($0.id, $0.label) })
        let batches = AssignmentBatches(rows)
        defer { batches.stop() }
        var customers = 0
        while let batch = try batches.next() {
            try batch.idBytes.withUnsafeBufferPointer { ids in
                var idStart = 0
                for row in 0..<batch.count {
                    let idEnd = batch.idEnds[row]
                    sqlite3_bind_text(statement, 2, UnsafeRawPointer(ids.baseAddress! + idStart).assumingMemoryBound(to: CChar.self),
                                      Int32(idEnd - idStart), transient)
                    idStart = idEnd
                    let segment = batch.segments[row]
                    sqlite3_bind_int64(statement, 3, Int64(segment))
                    sqlite3_bind_text(statement, 4, labels[segment]!, -1, transient)
                    for column in 0..<AssignmentRows.measureColumns.count {
                        let value = batch.measures[row * AssignmentRows.measureColumns.count + column]
                        if value.isNaN {
                            sqlite3_bind_null(statement, Int32(5 + column))
                        } else {
                            sqlite3_bind_double(statement, Int32(5 + column), value)
                        }
                    }
                    guard sqlite3_step(statement) == SQLITE_DONE else {
                        let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                        sqlite3_reset(statement)
                        throw CRMStoreError.database(location, "\(batches.path):\(batch.lines[row]): \(message)")
                    }
                    sqlite3_reset(statement)
                }
            }
            customers += batch.count
        }
        sqlite3_clear_bindings(statement)
        return ExportSummary(jobID: run.jobID, runID: runID, segments: run.k, customers: customers, replacedEarlierExport: replaced)
    }
}

/// What an export did.
public struct ExportSummary: Sendable, Equatable {
    public var jobID: String
    /// The run's key in the database (`runs.id`).
    public var runID: Int64
    public var segments: Int
    public var customers: Int
    /// Whether the job had been exported before and its rows were replaced.
    public var replacedEarlierExport: Bool
}
