/// Loads a run into an SQLite file: one `BEGIN IMMEDIATE` transaction that replaces the
/// run's rows, prepared INSERTs of 128 customers each reused for every group, the database
/// in WAL mode.
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
/// - The per-row bind goes straight to `sqlite3_bind_*`, without copying the text: building
///   GRDB's `StatementArguments` for each of a million rows costs more than the insert
///   itself. A multi-row INSERT pays the step, the reset and the cursors once per group.
/// - Reading and checking the CSV takes about as long as the inserts, so it runs on a second
///   thread (`AssignmentBatches`) while this one inserts.
import Files
import Foundation
import GRDB
import GRDBSQLite

enum SQLiteExport {
    /// How long an export waits for another export holding the write lock.
    static let busyTimeout: Double = 600

    static func export(_ run: RunResult, path: String) throws -> ExportSummary {
        // Read for each load (a load consumes them): checked once before any database is opened.
        var rows: AssignmentRows? = try AssignmentRows(path: run.assignmentsPath, segments: run.segments)
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // For a new file only (an existing one keeps its size): 16 KiB pages make a
            // million customers' B-trees shallower and cut the WAL's writes to a quarter of
            // the calls, about 8 % of the load's CPU.
            try db.execute(sql: "PRAGMA page_size = 16384")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 32 MiB: past it the transaction writes finished pages to the WAL as it goes
            // (uncommitted until the commit), which costs no more than writing them all at
            // the commit and saves holding (and faulting in) 200 MB for a million customers.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        let location = "sqlite:\(path)"
        // SQLite says only "unable to open database file" for each of these.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CRMStoreError.location("\(location): \(path) is a directory; give the database file's path")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw CRMStoreError.location("\(location): the directory \(parent) does not exist; the database file is created in an existing directory")
        }
        /// Opens (or creates) the database at `file`, migrates it and loads the run; the
        /// connection is closed on return, and with it the WAL folded in and removed.
        func load(into file: String) throws -> ExportSummary {
            let rows = try rows.take() ?? AssignmentRows(path: run.assignmentsPath, segments: run.segments)
            do {
                let queue = try DatabaseQueue(path: file, configuration: configuration)
                let summary = try queue.writeWithoutTransaction { db in
                    try migrate(db, location: location)
                    var summary: ExportSummary!
                    try db.inTransaction(.immediate) {
                        summary = try replaceRun(run, rows: rows, in: db, location: location)
                        return .commit
                    }
                    return summary!
                }
                // Closed here, not whenever the queue is released: the last connection's close
                // folds the WAL into the file, which a new database needs before it is moved.
                try queue.close()
                return summary
            } catch let error as DatabaseError {
                throw CRMStoreError.database(location, error.message ?? "\(error.resultCode)")
            }
        }
        guard !FileTree.exists(path) else { return try load(into: path) }
        // A new database is built under a hidden name beside it and put in place once loaded,
        // where no other export is: a failed load then leaves no database behind (it used to
        // leave an empty one, and on a full disk its WAL), as it leaves an existing one as it
        // was. Another export that created the file meanwhile keeps it, and this run loads
        // into it as into any existing database.
        let (directory, name) = FileTree.split(path)
        let fresh = "\(directory)/.\(name).clientele-new-\(getpid())"
        let leftovers = [fresh, fresh + "-wal", fresh + "-shm", fresh + "-journal"]
        leftovers.forEach { _ = unlink($0) }
        do {
            let summary = try load(into: fresh)
            var wal = stat()
            guard stat(fresh + "-wal", &wal) != 0 || wal.st_size == 0 else {
                throw CRMStoreError.database(location, "the new database's write-ahead log was not folded in at its close")
            }
            var placed = link(fresh, path) == 0
            var code = placed ? 0 : errno
            if !placed, code != EEXIST {
                // A file system without hard links.
                placed = FileTree.renameWithoutReplacing(fresh, path)
                code = placed ? 0 : errno
            }
            leftovers.forEach { _ = unlink($0) }
            if code == EEXIST { return try load(into: path) }
            guard placed else {
                throw CRMStoreError.database(location, "cannot put the new database in place: \(String(cString: strerror(code)))")
            }
            FileTree.syncDirectory(directory)
            return summary
        } catch {
            leftovers.forEach { _ = unlink($0) }
            throw error
        }
    }

    private static func migrate(_ db: Database, location: String) throws {
        try db.inTransaction(.immediate) {
            try db.execute(sql: Schema.migrationsTable)
            let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM clientele_schema_migrations"))
            try Schema.checkKnown(applied, location: location)
            for migration in Schema.migrations where !applied.contains(migration.version) {
                for statement in migration.sqlite { try db.execute(sql: statement) }
                try db.execute(sql: "INSERT INTO clientele_schema_migrations (version, summary) VALUES (?, ?)",
                               arguments: [migration.version, migration.summary])
            }
            return .commit
        }
    }

    private static func replaceRun(_ run: RunResult, rows: AssignmentRows, in db: Database, location: String) throws -> ExportSummary {
        let stored = try String.fetchOne(db, sql: "SELECT name FROM runs WHERE job_id = ?", arguments: [run.jobID])
        if let stored, stored != run.name, !run.mayReplaceAnotherJob {
            throw CRMStoreError.anotherJob(location, jobID: run.jobID, name: stored)
        }
        let replaced = stored != nil
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

        let customers = try insertCustomers(rows, runID: runID, segments: run.segments, in: db, location: location)
        return ExportSummary(jobID: run.jobID, runID: runID, segments: run.k, customers: customers, replacedEarlierExport: replaced)
    }

    /// Rows per multi-row INSERT: enough that stepping, resetting and opening the table's
    /// cursors is paid once per group instead of once per customer; a divisor of
    /// `AssignmentBatches.rowsPerBatch`, so only the last batch has a remainder.
    static let rowsPerInsert = 128

    /// Inserts every customer of `rows`, `rowsPerInsert` rows a statement, and returns how
    /// many. A group that breaks a constraint is undone by SQLite (the statement, not the
    /// transaction) and inserted again row by row, so that the error names the customer's line.
    private static func insertCustomers(_ rows: AssignmentRows, runID: Int64, segments: [SegmentProfile],
                                        in db: Database, location: String) throws -> Int {
        let group = try db.cachedStatement(sql: insertSQL(rows: rowsPerInsert)).sqliteStatement
        let single = try db.cachedStatement(sql: insertSQL(rows: 1)).sqliteStatement
        let binding = CustomerBinding(runID: runID, segments: segments)
        defer {
            sqlite3_clear_bindings(group)
            sqlite3_clear_bindings(single)
            binding.deallocate()
        }
        let batches = AssignmentBatches(rows)
        defer { batches.stop() }
        var customers = 0
        while let batch = try batches.next() {
            try batch.idBytes.withUnsafeBufferPointer { ids in
                func fail(_ lines: String) -> CRMStoreError {
                    .database(location, "\(batches.path):\(lines): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
                }
                var first = 0
                while first < batch.count {
                    let size = batch.count - first >= rowsPerInsert ? rowsPerInsert : 1
                    let statement = size == rowsPerInsert ? group : single
                    let result = binding.step(statement, rows: first..<(first + size), of: batch, ids: ids)
                    if result != SQLITE_DONE {
                        let line = batch.lines[first]
                        guard size > 1, result & 0xFF == SQLITE_CONSTRAINT, sqlite3_get_autocommit(db.sqliteConnection) == 0 else {
                            throw fail("\(line)")
                        }
                        let groupFailure = fail("\(line)-\(batch.lines[first + size - 1])")
                        for row in first..<(first + size)
                        where binding.step(single, rows: row..<(row + 1), of: batch, ids: ids) != SQLITE_DONE {
                            throw fail("\(batch.lines[row])")
                        }
                        throw groupFailure
                    }
                    first += size
                }
            }
            customers += batch.count
        }
        return customers
    }

    /// `INSERT INTO customer_segments … VALUES (…), (…), …` with `rows` rows: ?1 is the
    /// run, shared by every row, then eleven parameters per row.
    private static func insertSQL(rows: Int) -> String {
        let columns = Schema.customerColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        let perRow = Schema.customerColumns.count - 1
        let values = (0..<rows).map { row in
            "(?1, " + (0..<perRow).map { "?\(2 + row * perRow + $0)" }.joined(separator: ", ") + ")"
        }
        return "INSERT INTO customer_segments (\(columns)) VALUES " + values.joined(separator: ", ")
    }
}

/// Binds a batch's rows to an INSERT's parameters without copying (SQLITE_STATIC): the
/// ids point into the batch's arena, alive until the step ends, and the labels into C
/// strings that live until `deallocate`.
private struct CustomerBinding {
    let runID: Int64
    let segmentIDs: [Int64]
    let labels: [UnsafeMutableBufferPointer<CChar>]

    init(runID: Int64, segments: [SegmentProfile]) {
        self.runID = runID
        segmentIDs = segments.map { Int64($0.id) }
        labels = segments.map { segment in
            let text = segment.label.utf8CString
            let label = UnsafeMutableBufferPointer<CChar>.allocate(capacity: text.count)
            _ = label.initialize(from: text)
            return label
        }
    }

    func deallocate() {
        for label in labels { label.deallocate() }
    }

    /// Binds `rows` of `batch` to `statement`, one row after another, steps it and resets
    /// it; the step's result code.
    func step(_ statement: OpaquePointer, rows: Range<Int>, of batch: AssignmentBatches.Batch,
              ids: UnsafeBufferPointer<UInt8>) -> Int32 {
        let measureCount = AssignmentRows.measureColumns.count
        let perRow = Int32(Schema.customerColumns.count - 1)
        sqlite3_bind_int64(statement, 1, runID)
        var parameter: Int32 = 2
        for row in rows {
            let id = batch.idRange(row)
            sqlite3_bind_text(statement, parameter, UnsafeRawPointer(ids.baseAddress! + id.lowerBound).assumingMemoryBound(to: CChar.self),
                              Int32(id.count), nil)
            let segment = batch.segmentIndexes[row]
            sqlite3_bind_int64(statement, parameter + 1, segmentIDs[segment])
            sqlite3_bind_text(statement, parameter + 2, labels[segment].baseAddress!, Int32(labels[segment].count - 1), nil)
            for column in 0..<measureCount {
                let value = batch.measures[row * measureCount + column]
                if value.isNaN {
                    sqlite3_bind_null(statement, parameter + 3 + Int32(column))
                } else {
                    sqlite3_bind_double(statement, parameter + 3 + Int32(column), value)
                }
            }
            parameter += perRow
        }
        let result = sqlite3_step(statement)
        sqlite3_reset(statement)
        return result
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
