/// A CSV of numeric columns with a header, such as a table of customer features: an optional
/// key column (`customer_id`) kept as ids, and numeric columns read as doubles.
///
/// Only the columns asked for are parsed, so other columns may hold anything. Values must be
/// finite decimal numbers: an empty field, text, `nan` or `inf` is an error naming the file,
/// line and column, as is a row with the wrong number of fields.
public struct NumericTable: Sendable {
    /// The key of each row: the key column's values, or the 1-based row number without one.
    public let ids: CustomerIDs
    /// The key column's name, if the file has one.
    public let keyColumn: String?
    public let columnNames: [String]
    /// One array per column of `columnNames`, one value per row.
    public let columns: [[Double]]
    /// The file's line of each row (1 is the header), for messages about a row's values.
    public let lines: [Int]

    public var rowCount: Int { ids.count }

    /// Reads `path`, keyed by the first of `keyNames` present in the header, with the numeric
    /// columns `selecting` (in that order) or, when nil, every other column; then those of
    /// `ifPresent` that the header has and the selection does not.
    public static func read(path: String, keyNames: [String] = ["customer_id"], selecting: [String]? = nil,
                            ifPresent: [String] = []) throws -> NumericTable {
        let bytes = try readWholeFile(path)
        return try bytes.withUnsafeBufferPointer { buffer in
            var records = try HeaderedRecords(buffer, path: path, whenEmpty: "the file is empty: expected a header")
            let header = records.header, fields = records.fields
            let key = keyNames.lazy.compactMap { header.firstIndex(of: $0) }.first
            var names = selecting ?? header.indices.filter { $0 != key }.map { header[$0] }
            names += ifPresent.filter { header.contains($0) && !names.contains($0) && header.firstIndex(of: $0) != key }
            let positions = try names.map { name in
                guard let index = header.firstIndex(of: name), index != key else {
                    throw TransactionsError.invalidInput(
                        SourceLocation(file: path, line: 1),
                        "no numeric column \"\(name)\": the header has \(header.map { "\"\($0)\"" }.joined(separator: ", "))")
                }
                return index
            }
            guard !names.isEmpty else { throw TransactionsError.invalidFile(path, "no numeric columns besides the key") }
            var ids = CustomerIDs()
            var columns = [[Double]](repeating: [], count: names.count)
            var row = 0
            var lines: [Int] = []
            while let line = try records.next() {
                row += 1
                lines.append(line)
                if let key {
                    try records.scanner.withBytes(fields[key]) { id in
                        try CustomerIDs.requireUTF8(id, at: SourceLocation(file: path, line: line, column: header[key]))
                        ids.append(id)
                    }
                } else {
                    ids.append(Array(String(row).utf8))
                }
                for (c, index) in positions.enumerated() {
                    let field = fields[index]
                    guard case .value(let value) = parseAmount(buffer.baseAddress! + field.start, field.end - field.start) else {
                        throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[index]),
                                                             "\(records.scanner.quoted(field)) is not a finite number")
                    }
                    columns[c].append(value)
                }
            }
            guard row > 0 else { throw TransactionsError.invalidFile(path, "no rows after the header") }
            // A key is a customer: two rows of one would be clustered and written twice.
            if let key, let (row, earlier) = ids.firstRepeat() {
                throw TransactionsError.invalidInput(SourceLocation(file: path, line: lines[row], column: header[key]),
                                                     "\"\(ids[row])\" already has a row on line \(lines[earlier])")
            }
            return NumericTable(ids: ids, keyColumn: key.map { header[$0] }, columnNames: names, columns: columns, lines: lines)
        }
    }
}
