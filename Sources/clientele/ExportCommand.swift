import ArgumentParser
import CRMStore
import Transactions

/// `clientele export`: a result directory into the CRM database by hand, as the worker does
/// it when the job names a database.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Load a job's result directory into the CRM database (SQLite or PostgreSQL).",
        discussion: """
            The run, its segment profiles and every customer's segment go in one transaction: \
            exporting the same result again replaces the run's rows with the same rows, and a \
            failure leaves the database as it was. CRMs read current_customer_segments, each \
            customer's segment from the newest run. PostgreSQL takes its password from \
            PGPASSWORD or ~/.pgpass (never from the URL); add ?sslmode=require for TLS.

            Examples:
              clientele export queue/done/20261130-cdnow --database sqlite:crm.db
              clientele export queue/done/20261130-cdnow --database postgres://crm@db.example.com:5432/crm?sslmode=require
            """)

    @Argument(help: "The result directory (its name is the job id unless --job-id gives one).")
    var resultDirectory: String

    @Option(help: "The job id to load the result under (default: the result directory's name).")
    var jobID: String?

    @Flag(help: "Replace a run stored under the same job id for another job (by default such an export is refused).")
    var replace = false

    @Option(help: "sqlite:PATH or postgres://USER@HOST:PORT/DATABASE[?sslmode=require].")
    var database: String

    func validate() throws {
        if let jobID, jobID.isEmpty || jobID.containsLayoutControls {
            throw ValidationError("--job-id: expected a non-empty id without control characters")
        }
        do {
            _ = try DatabaseLocation(parsing: database)
        } catch let error as CRMStoreError {
            throw ValidationError("--database: \(error)")
        }
    }

    func run() throws {
        let location = try DatabaseLocation(parsing: database)
        let summary = try CRMExporter.export(resultDirectory: resultDirectory, jobID: jobID, database: location,
                                             replacingAnotherJob: replace)
        print("job \(summary.jobID): \(summary.segments) segments, \(summary.customers) customers → \(location)"
              + (summary.replacedEarlierExport ? " (replaced the earlier export)" : ""))
    }
}
