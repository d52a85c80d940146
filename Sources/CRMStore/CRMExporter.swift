/// The one entry point of CRM export, for `clientele export` and for the worker when a job
/// names a database: read a result directory, load it into the database in one
/// transaction, replacing an earlier export of the same job.
///
/// Guarantees, whichever the database: exporting the same result twice leaves exactly the
/// same rows; a failure part-way leaves the database as it was; exports of different runs
/// may run at the same time (PostgreSQL loads them side by side, SQLite one after the other).
///
/// There are two faces. The async one suits a task; the synchronous one suits a thread
/// outside Swift concurrency (the command line, a worker's thread): SQLite works on the
/// calling thread, and PostgreSQL's export runs as a task while the calling thread waits, so
/// the synchronous face must not be called from a task.
import Foundation

public enum CRMExporter {
    /// Exports the result directory at `resultDirectory`, whose name is the job id unless
    /// `jobID` gives it. A run stored under that id for a job of another name is
    /// replaced only with `replacingAnotherJob`; otherwise the export is refused
    /// (`CRMStoreError.anotherJob`). `environment` supplies PGPASSWORD, PGPASSFILE and HOME
    /// for a PostgreSQL password.
    @discardableResult
    public static func export(resultDirectory: String, jobID: String? = nil, database: DatabaseLocation,
                              replacingAnotherJob: Bool = false,
                              environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ExportSummary {
        let run = try RunResult(directory: resultDirectory, jobID: jobID, mayReplaceAnotherJob: replacingAnotherJob)
        switch database {
        case .sqlite(let path):
            return try SQLiteExport.export(run, path: path)
        case .postgres(let server):
            return try await PostgresExport.export(run, server: server, environment: environment)
        }
    }

    /// The same export, blocking the calling thread until it ends.
    @discardableResult
    public static func export(resultDirectory: String, jobID: String? = nil, database: DatabaseLocation,
                              replacingAnotherJob: Bool = false,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ExportSummary {
        let run = try RunResult(directory: resultDirectory, jobID: jobID, mayReplaceAnotherJob: replacingAnotherJob)
        switch database {
        case .sqlite(let path):
            return try SQLiteExport.export(run, path: path)
        case .postgres(let server):
            return try waitForTask { try await PostgresExport.export(run, server: server, environment: environment) }
        }
    }

    private static func waitForTask<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = TaskOutcome<T>()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                outcome.result = .success(try await operation())
            } catch {
                outcome.result = .failure(error)
            }
            finished.signal()
        }
        finished.wait()
        return try outcome.result.get()
    }
}

/// A task's result, handed to the thread that waits for it; the semaphore orders the write
/// before the read.
private final class TaskOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error> = .failure(CancellationError())
}
