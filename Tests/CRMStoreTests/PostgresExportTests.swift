@testable import CRMStore
import Foundation
import Logging
import PostgresNIO
import Simulation
import Testing

/// Export into a real PostgreSQL server: the one scripts/with-postgres starts on loopback
/// (CLIENTELE_TEST_POSTGRES_URL, PGPASSWORD). Each test works in a database of its own,
/// created and dropped around it. Without a server the tests skip, saying why.
@Suite(.enabled(if: TestServer.location != nil, TestServer.whyNot), .timeLimit(.minutes(5)))
struct PostgresExportTests {
    @Test func everyRowArrivesAndMatchesTheSQLiteExport() async throws {
        try await TestServer.withDatabase { server in
            let result = try makeResult(jobID: "cdnow-q1", customers: 400, segments: 5)
            let summary = try await CRMExporter.export(resultDirectory: result, database: .postgres(server))
            #expect(summary == ExportSummary(jobID: "cdnow-q1", runID: 1, segments: 5, customers: 400, replacedEarlierExport: false))

            let stored = try await TestServer.rows(server, """
                SELECT concat_ws('|', customer_id, segment, label, \(measureColumns.map { "coalesce(\"\($0)\"::text, 'NULL')" }
                    .joined(separator: ", "))) FROM customer_segments ORDER BY customer_id COLLATE "C"
                """)
            // PostgreSQL prints doubles in their shortest exact form; Swift prints them again.
            let reprinted = stored.map { line in
                let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                return customerLine(fields[0], Int(fields[1])!, fields[2], fields[3...].map { Double($0) })
            }
            #expect(reprinted == (try expectedCustomerLines(result)))

            let run = try await TestServer.rows(server, """
                SELECT concat_ws('|', job_id, name, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                 clientele_version, k, models->'bgnbd'->'parameters'->>'r', job->'segmentation'->>'k') FROM runs
                """)
            #expect(run == ["cdnow-q1|test cdnow-q1|2026-11-30T09:00:00Z|0.1.0|5|0.24|5"])
            let labels = try await TestServer.rows(server, "SELECT label FROM segments ORDER BY segment_id")
            #expect(labels == (0..<5).map { SyntheticResultDirectory.label(ofSegment: $0) })
            let medians = try await TestServer.rows(server, """
                SELECT (feature_statistics->'clv'->>'median') FROM segments ORDER BY segment_id
                """)
            let profileLines = try dataLines(result + "/profiles.csv").map(csvFields)
            let header = csvFields(try String(contentsOfFile: result + "/profiles.csv", encoding: .utf8)
                .split(separator: "\n")[0].description)
            #expect(medians.map { Double($0) } == profileLines.map { Double($0[header.firstIndex(of: "median_clv")!]) })
        }
    }

    @Test func exportingTheSameResultTwiceLeavesExactlyTheSameRows() async throws {
        try await TestServer.withDatabase { server in
            try await CRMExporter.export(resultDirectory: try makeResult(customers: 90, seed: 4), database: .postgres(server))
            let result = try makeResult(customers: 300, seed: 5)
            try await CRMExporter.export(resultDirectory: result, database: .postgres(server))
            let once = try await TestServer.allRows(server)
            let again = try await CRMExporter.export(resultDirectory: result, database: .postgres(server))
            #expect(again.replacedEarlierExport && again.runID == 2)
            #expect(try await TestServer.allRows(server) == once)
            #expect(once.count == 2 + 8 + 390)
        }
    }

    /// As in SQLite: the run of a job of another name under the same id is replaced only when
    /// asked to, and the same job exported again replaces its own run.
    @Test func anotherJobsRunUnderTheSameIdIsReplacedOnlyWhenAskedTo() async throws {
        try await TestServer.withDatabase { server in
            let january = try temporaryDirectory() + "/cdnow", february = try temporaryDirectory() + "/cdnow"
            try SyntheticResultDirectory(name: "cdnow 2024-01", customers: 60, seed: 1).write(to: january)
            try SyntheticResultDirectory(name: "cdnow 2024-02", customers: 70, seed: 2).write(to: february)
            try await CRMExporter.export(resultDirectory: january, database: .postgres(server))
            let before = try await TestServer.allRows(server)
            await #expect(throws: CRMStoreError.anotherJob(server.description, jobID: "cdnow", name: "cdnow 2024-01")) {
                try await CRMExporter.export(resultDirectory: february, database: .postgres(server))
            }
            #expect(try await TestServer.allRows(server) == before)
            let again = try await CRMExporter.export(resultDirectory: january, database: .postgres(server))
            #expect(again.replacedEarlierExport && again.runID == 1)
            let replaced = try await CRMExporter.export(resultDirectory: february, database: .postgres(server), replacingAnotherJob: true)
            #expect(replaced.replacedEarlierExport && replaced.runID == 1 && replaced.customers == 70)

            // Two jobs' first exports under one new id at once: one lands, the other is refused,
            // whichever comes first (each waits for the other's lock on the id).
            let a = try temporaryDirectory() + "/weekly", b = try temporaryDirectory() + "/weekly"
            try SyntheticResultDirectory(name: "weekly A", customers: 3000, seed: 3).write(to: a)
            try SyntheticResultDirectory(name: "weekly B", customers: 3000, seed: 4).write(to: b)
            func attempt(_ result: String) async -> Result<ExportSummary, any Error> {
                do { return .success(try await CRMExporter.export(resultDirectory: result, database: .postgres(server))) } catch { return .failure(error) }
            }
            async let first = attempt(a)
            async let second = attempt(b)
            let outcomes = await [first, second]
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 1)
            let refusals = outcomes.compactMap { outcome -> CRMStoreError? in
                if case .failure(let error) = outcome { return error as? CRMStoreError }
                return nil
            }
            #expect(refusals.count == 1)
            if case .anotherJob(_, let jobID, _)? = refusals.first { #expect(jobID == "weekly") } else { Issue.record("\(refusals)") }
        }
    }

    @Test func aBadRowOrAConstraintErrorAtTheEndLeavesTheDatabaseAsItWas() async throws {
        try await TestServer.withDatabase { server in
            let first = try makeResult(customers: 100)
            try await CRMExporter.export(resultDirectory: first, database: .postgres(server))
            let before = try await TestServer.allRows(server)

            let second = try makeResult(customers: 5000, seed: 8)
            try append("C9999999,2,at risk,1.0,2.0,3.0,4.0,0.5,0.9,0.1,twelve\n", to: second + "/assignments.csv")
            await #expect(throws: CRMStoreError.field(second + "/assignments.csv", line: 5002, column: "clv",
                                                      "expected a finite number, empty or nan, got \"twelve\"")) {
                try await CRMExporter.export(resultDirectory: second, database: .postgres(server))
            }
            #expect(try await TestServer.allRows(server) == before)

            // The first customer again in place of another of its segment (so that the segment
            // sizes still agree), in a re-export of the first run: the primary key refuses it
            // at the end of the COPY, and the first export's rows stay.
            let path = first + "/assignments.csv"
            var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            let firstID = csvFields(lines[1])[0], segment = csvFields(lines[1])[1]
            let other = try #require(lines.indices.dropFirst(2).last { csvFields(lines[$0])[1] == segment })
            lines[other] = firstID + lines[other][lines[other].firstIndex(of: ",")!...]
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let error = try await #require(throws: CRMStoreError.self) {
                try await CRMExporter.export(resultDirectory: first, database: .postgres(server))
            }
            #expect("\(error)".contains("duplicate key value violates unique constraint \"customer_segments_pkey\""))
            #expect("\(error)".contains("the database is as it was before the export"))
            #expect(try await TestServer.allRows(server) == before)
        }
    }

    @Test func aLostConnectionPartWayLeavesTheDatabaseAsItWas() async throws {
        try await TestServer.withDatabase { server in
            try await CRMExporter.export(resultDirectory: try makeResult(customers: 100), database: .postgres(server))
            let before = try await TestServer.allRows(server)
            let big = try makeResult(customers: 400_000, seed: 9)
            defer { removeTemporaryDirectory(of: big) }
            let export = Task { try await CRMExporter.export(resultDirectory: big, database: .postgres(server)) }
            // The server ends the export's connection while its COPY runs.
            var terminated = false
            for _ in 0..<3000 where !terminated {
                let ended = try await TestServer.rows(server, """
                    SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                    WHERE datname = current_database() AND query LIKE 'COPY%' AND pid <> pg_backend_pid()
                    """)
                terminated = ended == ["true"]
                if !terminated { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(terminated, "the COPY was never seen running")
            await #expect(throws: CRMStoreError.self) { try await export.value }
            #expect(try await TestServer.allRows(server) == before)
        }
    }

    @Test func twoExportsOfDifferentRunsAtOnceBothLand() async throws {
        try await TestServer.withDatabase { server in
            // Both meet a database without tables, so they also race to migrate it.
            let results = try (0..<2).map { try makeResult(customers: 50_000, seed: UInt64(20 + $0)) }
            defer { results.forEach(removeTemporaryDirectory(of:)) }
            async let first = CRMExporter.export(resultDirectory: results[0], database: .postgres(server))
            async let second = CRMExporter.export(resultDirectory: results[1], database: .postgres(server))
            let summaries = try await [first, second]
            #expect(Set(summaries.map(\.runID)) == [1, 2])
            let counts = try await TestServer.rows(server, "SELECT count(*)::text FROM customer_segments GROUP BY run_id ORDER BY run_id")
            #expect(counts == ["50000", "50000"])
            #expect(try await TestServer.rows(server, "SELECT version::text FROM clientele_schema_migrations") == ["1"])
        }
    }

    @Test func currentCustomerSegmentsShowsEachCustomersNewestRun() async throws {
        try await TestServer.withDatabase { server in
            let newer = try makeResult(jobID: "b-newer", customers: 100, seed: 2, createdAt: "2026-11-30T08:00:00Z")
            let older = try makeResult(jobID: "a-older", customers: 150, seed: 1, createdAt: "2026-11-01T08:00:00Z")
            try await CRMExporter.export(resultDirectory: newer, database: .postgres(server))
            try await CRMExporter.export(resultDirectory: older, database: .postgres(server))
            let current = try await TestServer.rows(server, """
                SELECT job_id || ':' || segment FROM current_customer_segments ORDER BY customer_id COLLATE "C"
                """)
            let newerSegments = try dataLines(newer + "/assignments.csv").map { "b-newer:" + csvFields($0)[1] }
            let olderSegments = try dataLines(older + "/assignments.csv").dropFirst(100).map { "a-older:" + csvFields($0)[1] }
            #expect(current == newerSegments + olderSegments)
        }
    }

    @Test func thePasswordFileServesAndAWrongPasswordIsRefusedWithoutShowingIt() async throws {
        try await TestServer.withDatabase { server in
            let result = try makeResult(customers: 10)
            let file = try temporaryDirectory() + "/pgpass"
            try "\(server.host):\(server.port):*:\(server.user):\(TestServer.password)\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            let summary = try await CRMExporter.export(resultDirectory: result, database: .postgres(server),
                                                       environment: ["PGPASSFILE": file])
            #expect(summary.customers == 10)

            let wrong = "not-the-password-\(UUID().uuidString)"
            let error = try await #require(throws: CRMStoreError.self) {
                try await CRMExporter.export(resultDirectory: result, database: .postgres(server),
                                             environment: ["PGPASSWORD": wrong])
            }
            #expect("\(error)".contains("password authentication failed for user \"\(server.user)\""))
            #expect(!"\(error)".contains(wrong) && !"\(String(reflecting: error))".contains(wrong))
        }
    }
}

extension PostgresExportTests {
    @Test(.enabled(if: TestServer.environment["CLIENTELE_TEST_POSTGRES_TLS"] == "1",
                   "the test server has no certificate (scripts/with-postgres makes one when openssl is installed)"))
    func sslmodeRequireEncryptsAndVerifyFullRefusesAnUntrustedCertificate() async throws {
        try await TestServer.withDatabase { server in
            let result = try makeResult(customers: 25)
            var encrypted = server
            encrypted.tls = .require
            #expect(try await CRMExporter.export(resultDirectory: result, database: .postgres(encrypted)).customers == 25)
            var verified = server
            verified.tls = .verifyFull
            await #expect(throws: CRMStoreError.self) {
                try await CRMExporter.export(resultDirectory: result, database: .postgres(verified))
            }
        }
    }
}

/// The test server, from the environment scripts/with-postgres sets.
enum TestServer {
    static let environment = ProcessInfo.processInfo.environment
    static let location: PostgresServer? = {
        guard let url = environment["CLIENTELE_TEST_POSTGRES_URL"],
              case .postgres(let server)? = try? DatabaseLocation(parsing: url) else { return nil }
        return server
    }()
    static let whyNot: Comment = """
        no PostgreSQL server: CLIENTELE_TEST_POSTGRES_URL is not set (run the tests as scripts/with-postgres swift test, \
        which starts a throw-away server; it needs Debian's postgresql)
        """
    static var password: String { environment["PGPASSWORD"] ?? "" }
    static let logger = Logger(label: "crmstore-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` against a new, empty database, dropped afterwards.
    static func withDatabase(_ body: (PostgresServer) async throws -> Void) async throws {
        let server = try #require(location)
        var scratch = server
        scratch.database = "crm_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute(server, "CREATE DATABASE \(scratch.database)")
        do {
            try await body(scratch)
        } catch {
            try? await execute(server, "DROP DATABASE \(scratch.database) WITH (FORCE)")
            throw error
        }
        try await execute(server, "DROP DATABASE \(scratch.database) WITH (FORCE)")
    }

    static func connect(_ server: PostgresServer) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: try PostgresExport.configuration(server, environment: environment), id: 2, logger: logger)
    }

    static func execute(_ server: PostgresServer, _ sql: String) async throws {
        _ = try await rows(server, sql)
    }

    /// The first column of every row, as text.
    static func rows(_ server: PostgresServer, _ sql: String) async throws -> [String] {
        let connection = try await connect(server)
        do {
            var values: [String] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String?.self) {
                values.append(value ?? "NULL")
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Every row of the CRM tables, in key order.
    static func allRows(_ server: PostgresServer) async throws -> [String] {
        try await rows(server, "SELECT row_to_json(r)::text FROM runs r ORDER BY id")
            + rows(server, "SELECT row_to_json(s)::text FROM segments s ORDER BY run_id, segment_id")
            + rows(server, "SELECT row_to_json(c)::text FROM customer_segments c ORDER BY run_id, customer_id")
    }
}
