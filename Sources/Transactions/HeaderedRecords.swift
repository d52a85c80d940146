/// A comma-separated file with a header, read record by record from a buffer: the UTF-8
/// byte-order mark skipped, the header read, and every error located in `path` — the shared
/// opening of the readers of customer summaries, retention tables, numeric tables and side
/// tables.
struct HeaderedRecords {
    var scanner: RecordScanner
    let fields = FieldBuffer()
    let path: String
    private(set) var header: [String] = []

    /// Reads the header; an empty file is an error saying `whenEmpty`.
    init(_ buffer: UnsafeBufferPointer<UInt8>, path: String, whenEmpty: String) throws {
        let start = buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0
        scanner = RecordScanner(buffer, delimiter: .comma, from: start)
        self.path = path
        guard try next() != nil else { throw TransactionsError.invalidFile(path, whenEmpty) }
        header = fields.map { scanner.text($0) }
        // Two columns of one name: a reader takes one of them and ignores the other unsaid (a
        // second T, a second frequency_holdout), or counts a feature twice.
        var first: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if let earlier = first.updateValue(index, forKey: name) {
                throw TransactionsError.invalidInput(SourceLocation(file: path, line: 1, column: name),
                                                     "the header names columns \(earlier + 1) and \(index + 1) alike: give each column a name of its own")
            }
        }
    }

    /// Scans the next record into `fields` and returns its line, or nil at the end. After the
    /// header, a record whose field count differs from the header's is an error.
    mutating func next() throws -> Int? {
        let outcome: ScanOutcome
        do {
            outcome = try scanner.next(fields, atEndOfInput: true)
        } catch {
            throw TransactionsError.invalidInput(SourceLocation(file: path, line: error.line), error.message)
        }
        guard case .record(let line) = outcome else { return nil }
        guard header.isEmpty || fields.count == header.count else {
            throw TransactionsError.invalidInput(SourceLocation(file: path, line: line),
                                                 "\(fields.count) fields, expected \(header.count) like the header")
        }
        return line
    }
}
