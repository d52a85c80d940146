/// How fields are separated in a delimited text file.
public enum Delimiter: String, CaseIterable, Sendable, Codable {
    case comma = ","
    case tab = "tab"
    case semicolon = ";"
    /// Runs of spaces and tabs, with leading and trailing blanks ignored (CDNOW's files).
    case whitespace = "whitespace"

    var byte: UInt8? {
        switch self {
        case .comma: return UInt8(ascii: ",")
        case .tab: return UInt8(ascii: "\t")
        case .semicolon: return UInt8(ascii: ";")
        case .whitespace: return nil
        }
    }

    /// Accepts the names a user types: `,`, `comma`, `tab`, `\t`, `;`, `semicolon`, `whitespace`.
    public init?(argument: String) {
        switch argument {
        case ",", "comma": self = .comma
        case "tab", "\t", "\\t": self = .tab
        case ";", "semicolon": self = .semicolon
        case "whitespace", "space", "spaces": self = .whitespace
        default: return nil
        }
    }
}

/// A column chosen by its header name or, without a header, by its 1-based position.
public struct ColumnReference: Hashable, Sendable, CustomStringConvertible, Codable {
    public var name: String

    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }

    public init(from decoder: Decoder) throws {
        name = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    /// The 0-based index of this column. A header name wins; a number names a 1-based
    /// position when no header column carries that name.
    func resolve(in header: [String]?, columnCount: Int) -> Int? {
        if let header, let index = header.firstIndex(of: name) { return index }
        if let position = Int(name), position >= 1, position <= columnCount { return position - 1 }
        return nil
    }
}

/// The layout of a transaction log: which columns hold what, and how they are written.
public struct TransactionLogFormat: Sendable, Equatable {
    public var delimiter: Delimiter
    public var hasHeader: Bool
    public var customerColumn: ColumnReference
    public var dateColumn: ColumnReference
    /// nil: the log has no amounts and summaries carry no monetary value.
    public var amountColumn: ColumnReference?
    /// nil: detected from the first rows among the unambiguous layouts.
    public var dateFormat: DateFormat?

    public init(
        delimiter: Delimiter = .comma,
        hasHeader: Bool = true,
        customerColumn: ColumnReference = ColumnReference("customer_id"),
        dateColumn: ColumnReference = ColumnReference("date"),
        amountColumn: ColumnReference? = nil,
        dateFormat: DateFormat? = nil
    ) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
        self.customerColumn = customerColumn
        self.dateColumn = dateColumn
        self.amountColumn = amountColumn
        self.dateFormat = dateFormat
    }
}

/// What to do with a row that cannot be read.
public enum BadRowPolicy: String, CaseIterable, Sendable, Codable {
    /// Stop at the first bad row; nothing is written.
    case fail
    /// Leave bad rows out, count them and keep the first few for the report.
    case skip
}
