@testable import CRMStore
import Foundation
import GRDB
import Simulation
import Testing

/// Export into SQLite files, checked by reading the files back with plain SQL: every row of
/// the result directory arrives, a second export leaves exactly the same rows, a failure at
/// any point (a bad row, a constraint, a killed process) leaves the file as it was, and
/// exports running at once all land.
@Suite(.timeLimit(.minutes(5))) struct SQLiteExportTests {
    @discardableResult
    func export(_ result: String, into database: String) throws -> ExportSummary {
        try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
    }

    @Test func everyCustomerRowArrivesWithTheFilesValues() throws {
        let result = try makeResult(jobID: "cdnow-q1", customers: 300, segments: 5)
        let database = try temporaryDirectory() + "/crm.db"
        let summary = try export(result, into: database)
        #expect(summary == ExportSummary(jobID: "cdnow-q1", runID: 1, segments: 5, customers: 300, replacedEarlierExport: false))

        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM customer_segments ORDER BY customer_id")
            #expect(rows.allSatisfy { $0["run_id"] as Int64 == 1 })
            let stored = rows.map { row in
                customerLine(row["customer_id"], row["segment"], row["label"], measureColumns.map { row[$0] as Double? })
            }
            #expect(stored == (try expectedCustomerLines(result)))
            // The comma in a label survived the CSV quoting.
            #expect(try String.fetchOne(db, sql: "SELECT label FROM segments WHERE segment_id = 1") == "loyal, high value")
        }
    }

    @Test func theRunAndTheProfilesArriveWhole() throws {
        let result = try makeResult(jobID: "weekly-2026-48", customers: 120, segments: 3, createdAt: "2026-11-29T23:15:00Z")
        let database = try temporaryDirectory() + "/crm.db"
        try export(result, into: database)
        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            let run = try #require(try Row.fetchOne(db, sql: "SELECT * FROM runs"))
            #expect(run["job_id"] as String == "weekly-2026-48")
            #expect(run["name"] as String == "test weekly-2026-48")
            #expect(run["created"] as String == "2026-11-29T23:15:00Z")
            #expect(run["clientele_version"] as String == "0.1.0")
            #expect(run["k"] as Int == 3)
            #expect(try String.fetchOne(db, sql: "SELECT json_extract(models, '$.bgnbd.parameters.r') FROM runs") == "0.24")
            #expect(try String.fetchOne(db, sql: "SELECT json_extract(job, '$.segmentation.k') FROM runs") == "3")

            let lines = try dataLines(result + "/profiles.csv").map(csvFields)
            let header = csvFields(try String(contentsOfFile: result + "/profiles.csv", encoding: .utf8)
                .split(separator: "\n")[0].description)
            let segments = try Row.fetchAll(db, sql: "SELECT * FROM segments ORDER BY segment_id")
            #expect(segments.count == 3)
            for (segment, fields) in zip(segments, lines) {
                func value(_ column: String) -> String { fields[header.firstIndex(of: column)!] }
                #expect(segment["segment_id"] as Int == Int(value("id")))
                #expect(segment["label"] as String == value("label"))
                #expect(segment["size"] as Int == Int(value("size")))
                #expect(segment["share_of_clv"] as Double == Double(value("share_of_clv")))
                #expect(segment["total_clv"] as Double == Double(value("total_clv")))
                let statistics = try JSONDecoder().decode([String: [String: Double]].self,
                                                          from: Data((segment["feature_statistics"] as String).utf8))
                #expect(Set(statistics.keys) == Set(SyntheticResultDirectory.features))
                for feature in SyntheticResultDirectory.features {
                    #expect(statistics[feature]?["median"] == Double(value("median_\(feature)")))
                    #expect(statistics[feature]?["centroid"] == Double(value("centroid_\(feature)")))
                }
            }
            // Segment sizes agree with the customers assigned to them.
            let sizes = try Row.fetchAll(db, sql: """
                SELECT s.size, COUNT(c.customer_id) AS customers FROM segments s
                LEFT JOIN customer_segments c ON c.run_id = s.run_id AND c.segment = s.segment_id GROUP BY s.segment_id
                """)
            #expect(sizes.allSatisfy { $0["size"] as Int == $0["customers"] as Int })
        }
    }

    @Test func exportingTheSameResultTwiceLeavesExactlyTheSameRows() throws {
        let database = try temporaryDirectory() + "/crm.db"
        try export(try makeResult(customers: 150, seed: 1), into: database)
        let result = try makeResult(customers: 250, seed: 2)
        try export(result, into: database)
        let once = try sqliteRows(database)
        let again = try export(result, into: database)
        #expect(again.replacedEarlierExport)
        #expect(again.runID == 2)
        #expect(try sqliteRows(database) == once)
        #expect(once.count == 2 + 8 + 400)
    }

    @Test func aChangedResultReplacesTheRunsRowsAndNoOthers() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let other = try makeResult(customers: 80, seed: 5)
        try export(other, into: database)
        let folder = try temporaryDirectory()
        let job = folder + "/nightly"
        try SyntheticResultDirectory(customers: 300, seed: 1).write(to: job)
        try export(job, into: database)
        try FileManager.default.removeItem(atPath: job)
        try SyntheticResultDirectory(customers: 100, segments: 2, seed: 2).write(to: job)
        try export(job, into: database)

        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_segments WHERE run_id = 2") == 100)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segments WHERE run_id = 2") == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT k FROM runs WHERE job_id = 'nightly'") == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_segments WHERE run_id = 1") == 80)
        }
    }

    /// Two result directories of one name from jobs of different names (`a/cdnow` and
    /// `b/cdnow`): the second export is refused and changes nothing, unless it is given
    /// its own id (`--job-id`) or told to replace the other job's run (`--replace`).
    @Test func anotherJobsRunUnderTheSameIdIsReplacedOnlyWhenAskedTo() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let january = try temporaryDirectory() + "/cdnow", february = try temporaryDirectory() + "/cdnow"
        try SyntheticResultDirectory(name: "cdnow 2024-01", customers: 120, seed: 1).write(to: january)
        try SyntheticResultDirectory(name: "cdnow 2024-02", customers: 90, seed: 2).write(to: february)
        try export(january, into: database)
        let before = try sqliteRows(database)
        #expect(throws: CRMStoreError.anotherJob("sqlite:\(database)", jobID: "cdnow", name: "cdnow 2024-01")) {
            try export(february, into: database)
        }
        #expect(try sqliteRows(database) == before)

        let own = try runExport(february, database: "sqlite:\(database)", options: ["--job-id", "cdnow-2024-02"])
        #expect(own.output == "job cdnow-2024-02: 4 segments, 90 customers → sqlite:\(database)\n")
        let refused = try runExport(february, database: "sqlite:\(database)")
        #expect(refused.status == 1)
        #expect(refused.output.hasPrefix("Error: sqlite:\(database): job id \"cdnow\" holds the run of another job, \"cdnow 2024-01\"; nothing was loaded"))
        let replaced = try runExport(february, database: "sqlite:\(database)", options: ["--replace"])
        #expect(replaced.output == "job cdnow: 4 segments, 90 customers → sqlite:\(database) (replaced the earlier export)\n")
        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            #expect(try String.fetchAll(db, sql: "SELECT job_id || '=' || name FROM runs ORDER BY id")
                    == ["cdnow=cdnow 2024-02", "cdnow-2024-02=cdnow 2024-02"])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_segments") == 180)
        }
        #expect(try runExport(february, database: "sqlite:\(database)", options: ["--job-id", ""]).status == 64)
    }

    @Test func aBadRowAtTheEndLeavesTheDatabaseAsItWas() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let first = try makeResult(customers: 100)
        try export(first, into: database)
        let before = try sqliteRows(database)

        let second = try makeResult(customers: 500, seed: 7)
        try append("C9999999,2,at risk,1.0,2.0,3.0,4.0,0.5,0.9,0.1,twelve\n", to: second + "/assignments.csv")
        #expect(throws: CRMStoreError.field(second + "/assignments.csv", line: 502, column: "clv",
                                            "expected a finite number, empty or nan, got \"twelve\"")) {
            try export(second, into: database)
        }
        #expect(try sqliteRows(database) == before)

        // The same bad row in a re-export of the first run keeps the first export's rows.
        try append("C9999999,2,at risk,1.0,2.0,3.0,4.0,0.5,0.9,0.1,twelve\n", to: first + "/assignments.csv")
        #expect(throws: CRMStoreError.self) { try export(first, into: database) }
        #expect(try sqliteRows(database) == before)
    }

    /// A failed export into a database that did not exist leaves none: the new file is built
    /// under a hidden name and put in place only once loaded.
    @Test func aFailedExportIntoANewFileLeavesNoDatabase() throws {
        let directory = try temporaryDirectory()
        let database = directory + "/new.db"
        let result = try makeResult(customers: 500, seed: 3)
        try append("C9999999,2,at risk,1.0,2.0,3.0,4.0,0.5,0.9,0.1,twelve\n", to: result + "/assignments.csv")
        #expect(throws: CRMStoreError.self) { try export(result, into: database) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)

        let good = try makeResult(customers: 500, seed: 4)
        #expect(try export(good, into: database).customers == 500)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["new.db"])
        let queue = try DatabaseQueue(path: database)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM customer_segments") } == 500)
    }

    /// A row added to assignments.csv, or one taken away, leaves a segment with another
    /// number of rows than its size in profiles.csv: refused at the end of the file, the
    /// database as it was.
    @Test func rowsThatDisagreeWithTheSegmentSizesAreRefused() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let first = try makeResult(customers: 100)
        try export(first, into: database)
        let before = try sqliteRows(database)

        let lines = try dataLines(first + "/assignments.csv")
        let segment = csvFields(lines[0])[1]
        let size = lines.filter { csvFields($0)[1] == segment }.count
        try append("C-added" + lines[0][lines[0].firstIndex(of: ",")!...] + "\n", to: first + "/assignments.csv")
        let added = try #require(throws: CRMStoreError.self) { try export(first, into: database) }
        #expect("\(added)" == "\(first)/assignments.csv: \(size + 1) rows of segment \(segment), whose size in profiles.csv is \(size); the result directory is not one run's")
        #expect(try sqliteRows(database) == before)

        let header = try String(contentsOfFile: first + "/assignments.csv", encoding: .utf8).split(separator: "\n")[0]
        try (([header] + lines.dropLast().map { Substring($0) }).joined(separator: "\n") + "\n")
            .write(toFile: first + "/assignments.csv", atomically: true, encoding: .utf8)
        let last = csvFields(lines[lines.count - 1])[1]
        let lastSize = lines.filter { csvFields($0)[1] == last }.count
        #expect(throws: CRMStoreError.file(first + "/assignments.csv",
                                           "\(lastSize - 1) rows of segment \(last), whose size in profiles.csv is \(lastSize); the result directory is not one run's")) {
            try export(first, into: database)
        }
        #expect(try sqliteRows(database) == before)
    }

    @Test func aConstraintErrorAtTheEndLeavesTheDatabaseAsItWas() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let first = try makeResult(customers: 100)
        try export(first, into: database)
        let before = try sqliteRows(database)

        // The first customer again: the primary key (run, customer) refuses the last row.
        let repeated = try dataLines(first + "/assignments.csv")[0]
        try append(repeated + "\n", to: first + "/assignments.csv")
        let error = try #require(throws: CRMStoreError.self) { try export(first, into: database) }
        #expect("\(error)".contains("assignments.csv:102: UNIQUE constraint failed: customer_segments.run_id, customer_segments.customer_id"))
        #expect(try sqliteRows(database) == before)
    }

    @Test func aKilledExportLeavesTheDatabaseAsItWas() throws {
        let database = try temporaryDirectory() + "/crm.db"
        try export(try makeResult(customers: 100), into: database)
        let before = try sqliteRows(database)
        let big = try makeResult(customers: 300_000, seed: 3)
        defer { removeTemporaryDirectory(of: big); removeTemporaryDirectory(of: database) }

        // Kill the export once its transaction has held the write lock for 150 ms: well into
        // the inserts (the migration's own short transaction comes first).
        let process = try startExport(big, database: "sqlite:\(database)")
        let probe = try DatabaseQueue(path: database)
        var heldSince: Date?
        var killed = false
        while process.isRunning {
            let held: Bool
            do {
                try probe.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    try db.execute(sql: "ROLLBACK")
                }
                held = false
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                held = true
            }
            heldSince = held ? (heldSince ?? Date()) : nil
            if let heldSince, Date().timeIntervalSince(heldSince) > 0.15 {
                kill(process.processIdentifier, SIGKILL)
                killed = true
                break
            }
            usleep(2000)
        }
        process.waitUntilExit()
        #expect(killed, "the export finished before it could be killed; the test needs a bigger result")
        #expect(process.terminationReason == .uncaughtSignal)

        #expect(try sqliteRows(database) == before)
        let queue = try DatabaseQueue(path: database)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        // And the next export goes through.
        #expect(try export(big, into: database).customers == 300_000)
    }

    @Test func twoProcessesExportingDifferentRunsAtOnceBothLand() throws {
        let database = try temporaryDirectory() + "/crm.db"
        let results = try (0..<2).map { try makeResult(customers: 60_000, seed: UInt64(10 + $0)) }
        defer { (results + [database]).forEach(removeTemporaryDirectory(of:)) }
        let processes = try results.map { try startExport($0, database: "sqlite:\(database)") }
        for process in processes { process.waitUntilExit() }
        #expect(processes.map(\.terminationStatus) == [0, 0])
        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs") == 2)
            #expect(try Int.fetchAll(db, sql: "SELECT COUNT(*) FROM customer_segments GROUP BY run_id") == [60_000, 60_000])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM clientele_schema_migrations") == 1)
        }
    }

    @Test func currentCustomerSegmentsShowsEachCustomersNewestRun() throws {
        let database = try temporaryDirectory() + "/crm.db"
        // The newer run covers customers 0..<100 and is exported first; the older run covers
        // 0..<150. Newest means the run's creation, not the export's order.
        let newer = try makeResult(jobID: "b-newer", customers: 100, seed: 2, createdAt: "2026-11-30T08:00:00Z")
        let older = try makeResult(jobID: "a-older", customers: 150, seed: 1, createdAt: "2026-11-01T08:00:00Z")
        try export(newer, into: database)
        try export(older, into: database)
        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            let current = try Row.fetchAll(db, sql: "SELECT customer_id, job_id, segment FROM current_customer_segments ORDER BY customer_id")
            #expect(current.count == 150)
            #expect(current.prefix(100).allSatisfy { $0["job_id"] as String == "b-newer" })
            #expect(current.suffix(50).allSatisfy { $0["job_id"] as String == "a-older" })
            let newerSegments = try dataLines(newer + "/assignments.csv").map { Int(csvFields($0)[1])! }
            #expect(current.prefix(100).map { $0["segment"] as Int } == newerSegments)
        }
    }

    @Test func theSchemaIsMigratedOnceAndRecorded() throws {
        let database = try temporaryDirectory() + "/crm.db"
        try export(try makeResult(customers: 10), into: database)
        try export(try makeResult(customers: 10), into: database)
        let queue = try DatabaseQueue(path: database)
        try queue.read { (db: Database) throws in
            #expect(try Int.fetchAll(db, sql: "SELECT version FROM clientele_schema_migrations") == [1])
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try db.tableExists("customer_segments") && db.viewExists("current_customer_segments"))
        }
    }

    /// A database a newer Clientele has migrated further is refused, not loaded into as if
    /// its tables were this version's.
    @Test func aDatabaseOfANewerSchemaIsRefused() throws {
        let database = try temporaryDirectory() + "/crm.db"
        try export(try makeResult(customers: 10), into: database)
        try DatabaseQueue(path: database).write { db in
            try db.execute(sql: "INSERT INTO clientele_schema_migrations (version, summary) VALUES (2, 'from the future')")
        }
        let before = try sqliteRows(database)
        #expect(throws: CRMStoreError.database("sqlite:\(database)", "it has schema version 2, newer than this Clientele's 1; export with a Clientele that knows it")) {
            try export(try makeResult(customers: 20), into: database)
        }
        #expect(try sqliteRows(database) == before)
    }

    /// Where SQLite would say only "unable to open database file".
    @Test func aDatabasePathThatCannotBeAFileIsNamedForWhatItIs() throws {
        let result = try makeResult(customers: 10)
        let directory = try temporaryDirectory()
        #expect(throws: CRMStoreError.location("sqlite:\(directory): \(directory) is a directory; give the database file's path")) {
            try export(result, into: directory)
        }
        #expect(throws: CRMStoreError.location("sqlite:\(directory)/no/crm.db: the directory \(directory)/no does not exist; the database file is created in an existing directory")) {
            try export(result, into: directory + "/no/crm.db")
        }
        #expect(throws: CRMStoreError.location("sqlite:~/crm.db: ~ is not expanded here; give the path from / or from the current directory")) {
            try DatabaseLocation(parsing: "sqlite:~/crm.db")
        }
    }

    @Test func theExportCommandSaysWhatItDidOrWhyNotInOneLine() throws {
        let result = try makeResult(jobID: "cli-job", customers: 30, segments: 2)
        let database = try temporaryDirectory() + "/crm.db"
        let first = try runExport(result, database: "sqlite:\(database)")
        #expect(first.status == 0)
        #expect(first.output == "job cli-job: 2 segments, 30 customers → sqlite:\(database)\n")
        let again = try runExport(result, database: "sqlite:\(database)")
        #expect(again.output == "job cli-job: 2 segments, 30 customers → sqlite:\(database) (replaced the earlier export)\n")

        let secret = try runExport(result, database: "postgres://crm:hunter2@127.0.0.1:5432/crm")
        #expect(secret.status != 0)
        #expect(secret.output.contains("the URL holds a password; put it in PGPASSWORD or ~/.pgpass instead"))
        #expect(!secret.output.contains("hunter2"))

        try append("C9,0,champions,1,2,3,4,5,0.5,0.5,bad\n", to: result + "/assignments.csv")
        let bad = try runExport(result, database: "sqlite:\(database)")
        #expect(bad.status != 0)
        #expect(bad.output == "Error: \(result)/assignments.csv:32: column clv: expected a finite number, empty or nan, got \"bad\"\n")
    }
}
