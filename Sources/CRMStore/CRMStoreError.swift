/// What can go wrong in an export, with the place it went wrong: the file, line and column
/// of a bad result file, or the database and the step that failed. Descriptions are one
/// line and never hold a password.
public enum CRMStoreError: Error, CustomStringConvertible, Equatable {
    /// A result file that cannot be read or is not what the result directory format says.
    case file(String, String)
    /// A bad record: the file, the 1-based line and what was expected.
    case record(String, line: Int, String)
    /// A bad field: the file, the 1-based line, the column name and what was expected.
    case field(String, line: Int, column: String, String)
    /// A `--database` location that cannot be understood.
    case location(String)
    /// The database refused or failed a step; nothing of the export was kept.
    case database(String, String)
    /// The job id is taken by the run of a job of another name (the database, the id, that name).
    case anotherJob(String, jobID: String, name: String)

    public var description: String {
        switch self {
        case .file(let path, let message):
            return "\(path): \(message)"
        case .record(let path, let line, let message):
            return "\(path):\(line): \(message)"
        case .field(let path, let line, let column, let message):
            return "\(path):\(line): column \(column): \(message)"
        case .location(let message):
            return "database location: \(message)"
        case .database(let database, let message):
            return "\(database): \(message); the database is as it was before the export"
        case .anotherJob(let database, let jobID, let name):
            return "\(database): job id \"\(jobID)\" holds the run of another job, \"\(name)\"; nothing was loaded: export this result under its own id (clientele export DIR --job-id ID) or replace that run (--replace)"
        }
    }
}
