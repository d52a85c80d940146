#if canImport(CRMStore)
import CRMStore
#endif

/// Loads a finished result directory into the job's CRM database (`crm.database`), through
/// the CRMStore module's `CRMExporter`: the same export as `clientele export`.
enum CRMExport {
    static func export(resultDirectory: String, database: String) throws {
        #if canImport(CRMStore)
        do {
            try CRMExporter.export(resultDirectory: resultDirectory, database: try DatabaseLocation(parsing: database))
        } catch {
            throw CommandError("the result is complete in \(resultDirectory), but loading it into \(database) failed: \(error)")
        }
        #else
        throw CommandError("the result is complete in \(resultDirectory), but this build has no CRM export (the CRMStore module) to load it into \(database)")
        #endif
    }
}
