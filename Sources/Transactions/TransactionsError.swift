/// Where in a text file something was found.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based physical line.
    public var line: Int
    /// The column's header name, or its 1-based position without a header.
    public var column: String?

    public init(file: String, line: Int, column: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        if let column { return "\(file):\(line): column \"\(column)\"" }
        return "\(file):\(line)"
    }
}

/// Why a transaction log or customer summary could not be read.
public enum TransactionsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A problem at one place in a file: `tx.csv:1043: column "date": "2024-13-01" is not a yyyy-MM-dd date`.
    case invalidInput(SourceLocation, String)
    /// A problem with the file as a whole (unreadable, empty).
    case invalidFile(String, String)
    /// Options that do not fit together.
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .invalidInput(let location, let message): return "\(location): \(message)"
        case .invalidFile(let file, let message): return "\(file): \(message)"
        case .invalidOptions(let message): return message
        }
    }
}

/// A row left out under `--on-bad-row skip`.
public struct SkippedRow: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var reason: String

    public var description: String { "\(location): \(reason)" }
}
