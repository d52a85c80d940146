/// Loads a run into PostgreSQL through postgres-nio: one transaction that replaces the
/// run's rows, the customers streamed with `COPY customer_segments FROM STDIN` in the
/// binary format (a chunk of about 1.2 MB per batch of `AssignmentBatches`, read and
/// checked on a thread of their own) through postgres-nio 1.33's `copyFrom`.
///
/// Hazards and their guards:
/// - A failure part-way (a constraint error in the COPY, a bad row found while streaming, a
///   lost connection, a killed process): the transaction is rolled back, by us or by the
///   server when the connection goes away, so the database is as it was.
/// - Two exports at once: different runs touch different rows (a new `runs` row each, the
///   customer rows keyed by run), so they proceed side by side; the schema migration takes
///   an advisory lock so that two exports meeting a new database do not both create tables.
/// - The password: handed to the connection only; the logger discards everything, and
///   errors are rebuilt from the server's message, detail and context.
/// - The binary format, not the text one: the server then copies each double's eight bytes
///   instead of parsing its decimal text (splitting the lines and glibc's `strtod` took
///   nearly a third of the server's CPU for a million customers), and text fields need no
///   escaping. The doubles are the ones `AssignmentRows` parsed and checked, so the server
///   stores what SQLite stores.
import Foundation
import Logging
import PostgresNIO

enum PostgresExport {
    static let logger = Logger(label: "clientele.crmstore", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Any constant, the same for every Clientele: the key of the migration lock.
    static let migrationLock: Int64 = 0x436C_6965_6E74_656C
    /// The first key of the per-job-id locks ("Clie"); the second is the id's hash.
    static let jobLockClass: Int32 = 0x436C_6965

    static func export(_ run: RunResult, server: PostgresServer, environment: [String: String]) async throws -> ExportSummary {
        let rows = try AssignmentRows(path: run.assignmentsPath, segments: run.segments)
        let location = server.description
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try configuration(server, environment: environment), id: 1, logger: logger)
        } catch {
            throw CRMStoreError.database(location, "cannot connect: \(describe(error))")
        }
        do {
            try await migrate(connection, location: location)
            let summary = try await inTransaction(connection) {
                try await replaceRun(run, rows: rows, on: connection, location: location)
            }
            try await connection.close()
            return summary
        } catch {
            try? await connection.close()
            if error is CRMStoreError { throw error }
            throw CRMStoreError.database(location, describe(error))
        }
    }

    static func configuration(_ server: PostgresServer, environment: [String: String]) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch server.tls {
        case .disable:
            tls = .disable
        case .require:
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: settings))
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.user,
            password: PostgresPassword.lookup(for: server, environment: environment),
            database: server.database, tls: tls)
    }

    private static func inTransaction<T>(_ connection: PostgresConnection, _ body: () async throws -> T) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await body()
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            // On a closed connection postgres-nio 1.33.2 never answers a query; the server has
            // rolled back already.
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
    }

    private static func migrate(_ connection: PostgresConnection, location: String) async throws {
        try await inTransaction(connection) {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: Schema.migrationsTable), logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM clientele_schema_migrations", logger: logger)
                .decode(Int.self) {
                applied.insert(version)
            }
            try Schema.checkKnown(applied, location: location)
            for migration in Schema.migrations where !applied.contains(migration.version) {
                for statement in migration.postgres {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO clientele_schema_migrations (version, summary) VALUES (\(migration.version), \(migration.summary))
                    """, logger: logger)
            }
        }
    }

    private static func replaceRun(_ run: RunResult, rows: AssignmentRows, on connection: PostgresConnection,
                                   location: String) async throws -> ExportSummary {
        var replaced = false
        // Exports of one job id wait for each other from here to their commit (SQLite's
        // BEGIN IMMEDIATE does the same): two new ones of different jobs would otherwise both
        // find the id free, and the second's upsert would replace the first's run unseen.
        try await connection.query("SELECT pg_advisory_xact_lock(\(jobLockClass), hashtext(\(run.jobID)))", logger: logger)
        for try await name in try await connection.query("SELECT name FROM runs WHERE job_id = \(run.jobID)", logger: logger)
            .decode(String.self) {
            if name != run.name && !run.mayReplaceAnotherJob { throw CRMStoreError.anotherJob(location, jobID: run.jobID, name: name) }
            replaced = true
        }
        var runID: Int64 = 0
        for try await id in try await connection.query("""
            INSERT INTO runs (job_id, name, created, clientele_version, job, models, k)
            VALUES (\(run.jobID), \(run.name), \(run.created)::timestamptz, \(run.clienteleVersion), \(run.job)::jsonb,
                    \(run.models)::jsonb, \(run.k))
            ON CONFLICT (job_id) DO UPDATE SET name = excluded.name, created = excluded.created,
                clientele_version = excluded.clientele_version, job = excluded.job, models = excluded.models, k = excluded.k
            RETURNING id
            """, logger: logger).decode(Int64.self) {
            runID = id
        }
        try await connection.query("DELETE FROM customer_segments WHERE run_id = \(runID)", logger: logger)
        try await connection.query("DELETE FROM segments WHERE run_id = \(runID)", logger: logger)
        for segment in run.segments {
            try await connection.query("""
                INSERT INTO segments (run_id, segment_id, label, size, share, share_of_clv, mean_p_alive, churn_rate,
                                      total_clv, mean_clv, feature_statistics)
                VALUES (\(runID), \(segment.id), \(segment.label), \(segment.size), \(segment.share), \(segment.shareOfCLV),
                        \(segment.meanPAlive), \(segment.churnRate), \(segment.totalCLV), \(segment.meanCLV),
                        \(segment.featureStatistics)::jsonb)
                """, logger: logger)
        }

        let labels = run.segments.map { Array($0.label.utf8) }
        let copiedRunID = runID
        // Reading and checking on a thread of their own: when this task parsed between its
        // writes, the server waited for the next chunk, 0.1 to 1.3 s of a 3 to 4 s load.
        let batches = AssignmentBatches(rows)
        defer { batches.stop() }
        let customers = try await untilConnectionCloses(connection) {
            var customers = 0
            try await connection.copyFrom(table: binaryCopyTarget, logger: logger) { writer in
                let measureCount = AssignmentRows.measureColumns.count
                var buffer = ByteBufferAllocator().buffer(capacity: 1 << 21)
                buffer.writeBytes(binaryCopyHeader)
                while let batch = try batches.next() {
                    batch.idBytes.withUnsafeBufferPointer { ids in
                        for row in 0..<batch.count {
                            buffer.writeInteger(Int16(Schema.customerColumns.count))
                            buffer.writeInteger(Int32(8))
                            buffer.writeInteger(copiedRunID)
                            writeBinaryText(UnsafeBufferPointer(rebasing: ids[batch.idRange(row)]), to: &buffer)
                            let segment = batch.segmentIndexes[row]
                            buffer.writeInteger(Int32(4))
                            buffer.writeInteger(Int32(run.segments[segment].id))
                            writeBinaryText(labels[segment], to: &buffer)
                            for value in batch.measures[(row * measureCount)..<((row + 1) * measureCount)] {
                                if value.isNaN {
                                    buffer.writeInteger(Int32(-1))
                                } else {
                                    buffer.writeInteger(Int32(8))
                                    buffer.writeInteger(value.bitPattern)
                                }
                            }
                        }
                    }
                    customers += batch.count
                    try await writer.write(buffer)
                    buffer = ByteBufferAllocator().buffer(capacity: 1 << 21)
                }
                buffer.writeInteger(Int16(-1))
                try await writer.write(buffer)
            }
            return customers
        }
        return ExportSummary(jobID: run.jobID, runID: runID, segments: run.k, customers: customers, replacedEarlierExport: replaced)
    }

    /// Runs `operation` (the COPY) as a task of its own and stops waiting for it when the
    /// connection closes. This works around postgres-nio 1.33.2: when the connection drops
    /// while a COPY write waits for the socket to drain, `ExtendedQueryStateMachine` records
    /// the error but drops the waiting promise, so the write never returns. The abandoned task
    /// stays suspended; the server has rolled the transaction back by then.
    private static func untilConnectionCloses<T: Sendable>(
        _ connection: PostgresConnection, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = FirstOutcome(continuation)
            Task {
                do {
                    outcome.resume(with: .success(try await operation()))
                } catch {
                    outcome.resume(with: .failure(error))
                }
            }
            connection.closeFuture.whenComplete { _ in
                outcome.resume(with: .failure(ConnectionLost()))
            }
        }
    }

    /// `COPY customer_segments (…) FROM STDIN` in the binary format. postgres-nio 1.33.2's
    /// `copyFrom` writes only the text format's options; it puts the table's name verbatim
    /// between double quotes into a one-line statement, so this name closes the quote, names
    /// the columns and the binary format, and turns the text options that follow into a
    /// comment. Every part is a constant of this file.
    static let binaryCopyTarget = "customer_segments\" ("
        + Schema.customerColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        + ") FROM STDIN WITH (FORMAT binary) --"

    /// The binary format's signature, then no flags and no header extension.
    static let binaryCopyHeader: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [UInt8](repeating: 0, count: 8)

    /// A text field in COPY's binary format: its length, then its bytes as they are.
    private static func writeBinaryText<Bytes: Collection>(_ text: Bytes, to buffer: inout ByteBuffer) where Bytes.Element == UInt8 {
        buffer.writeInteger(Int32(text.count))
        buffer.writeBytes(text)
    }

    /// The server's own words (message, detail, context) or the client-side failure; never
    /// the query's parameters or the connection's password.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo {
            return [info[.message], info[.detail], info[.locationContext]].compactMap { $0 }.joined(separator: "; ")
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

private struct ConnectionLost: Error, CustomStringConvertible {
    var description: String { "the connection to the server was lost during the COPY" }
}

/// Resumes a continuation with whichever outcome comes first.
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = continuation
    }

    func resume(with result: Result<T, any Error>) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(with: result)
    }
}
