import CRMStore

/// Loads a finished result directory into the job's CRM database (`crm.database`), through
/// CRMStore's `CRMExporter`: the same export as `clientele export`.
enum CRMExport {
    static func export(resultDirectory: String, jobID: String? = nil, database: String) throws {
        do {
            try CRMExporter.export(resultDirectory: resultDirectory, jobID: jobID, database: try DatabaseLocation(parsing: database))
        } catch {
            throw CommandError("the result is complete in \(resultDirectory), but loading it into \(database) failed: \(error)")
        }
    }
}
