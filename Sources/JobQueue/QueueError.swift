/// What can go wrong in the queue itself (not in a job): a path and the reason, printed as
/// one line by the command-line tool.
public enum QueueError: Error, CustomStringConvertible, Equatable {
    /// A file operation failed: the path and the system's reason.
    case fileSystem(String, String)
    /// A job id that is not a plain file name (`../x`, an empty string, a slash).
    case invalidJobID(String)
    /// `status ID` asked for a job the queue does not have.
    case unknownJob(String)
    /// A job refused by `submit`, before it entered the queue: file and reason.
    case refused(String, String)
    /// A path opened as an existing queue that is not one: the path and what is missing.
    case notAQueue(String, String)

    public var description: String {
        switch self {
        case .fileSystem(let path, let reason): "\(path): \(reason)"
        case .invalidJobID(let id): "\"\(id)\" is not a job id (letters, digits, '.', '_' and '-', at most 200, not starting with '.')"
        case .unknownJob(let id): "no job \(id) in the queue"
        case .refused(let path, let reason): "\(path): \(reason)"
        case .notAQueue(let path, let reason): "\(path) is not a queue: \(reason)"
        }
    }
}
