import CRMStore
import JobQueue

/// Loads a finished result directory into the job's CRM database (`crm.database`), through
/// CRMStore's `CRMExporter`: the same export as `clientele export`.
enum CRMExport {
    /// `jobID` is given by the worker, which loads a job's result while it is still staged
    /// and publishes it only once loaded: a failed load makes the worker discard the staging
    /// and run the job again (or fail it as poison), so its message must not send the user
    /// to the staging directory. `clientele run` loads a result already published in place.
    static func export(resultDirectory: String, jobID: String? = nil, database: String) throws {
        do {
            try CRMExporter.export(resultDirectory: resultDirectory, jobID: jobID, database: try DatabaseLocation(parsing: database))
        } catch {
            // The database holds another job's run under this id: no retry can change that.
            if jobID != nil, case .anotherJob? = error as? CRMStoreError {
                throw JobFailure("loading the result into \(database) failed: \(error); the result was discarded")
            }
            guard jobID == nil else {
                throw CommandError("loading the result into \(database) failed: \(error); a queued job's result is published only once loaded, so this run's result was discarded")
            }
            throw CommandError("the result is complete in \(resultDirectory), but loading it into \(database) failed: \(error)")
        }
    }
}
