import Buffers

/// Builds a CSV of one id column and numeric columns, as the per-customer outputs
/// (predictions, assignments) need: ids quoted when RFC 4180 asks, numbers in their
/// shortest round-tripping form.
public struct CSVWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private let width: Int

    /// `header: false` starts without the header line, for the later pieces of a file
    /// rendered in parts.
    public init(columns: [String], expectedRows: Int = 0, header: Bool = true) {
        bytes = header ? Self.header(columns) : []
        bytes.reserveCapacity(bytes.count + expectedRows * 16 * columns.count)
        width = columns.count - 1
    }

    /// Appends customer `index` of `ids` with its values.
    public mutating func appendRow(_ ids: CustomerIDs, _ index: Int, _ values: [Double]) {
        appendRow(ids, index, fields: TextFields([]), values)
    }

    /// Text fields rendered once (each preceded by its comma, quoted when RFC 4180 asks), for
    /// rows that repeat them, such as a segment's id and label.
    public struct TextFields: Sendable {
        let bytes: [UInt8]
        let count: Int

        public init(_ fields: [String]) {
            count = fields.count
            var bytes: [UInt8] = []
            for field in fields {
                bytes.append(0x2C)
                appendCSVField(field.utf8, to: &bytes)
            }
            self.bytes = bytes
        }
    }

    /// Appends customer `index` of `ids`, then text fields, then numbers: the layout of
    /// per-customer results that carry a label beside the numbers.
    public mutating func appendRow(_ ids: CustomerIDs, _ index: Int, fields: TextFields, _ values: [Double]) {
        precondition(fields.count + values.count == width, "a row needs \(width) fields and values")
        let id = ids.bytes[ids.offsets[index]..<ids.offsets[index + 1]]
        appendRendered(to: &bytes, capacity: Self.room(idBytes: id.count, rows: 1, fieldBytes: fields.bytes.count, numbers: values.count)) { cursor in
            fields.bytes.withUnsafeBufferPointer { text in cursor.put(row: id, fields: text, numbers: values.count) { values[$0] } }
        }
    }

    /// The header line of `columns`.
    public static func header(_ columns: [String]) -> [UInt8] {
        Array((columns.joined(separator: ",") + "\n").utf8)
    }

    /// The rows `rows` of a per-customer file of numbers: customer i of `ids`, then column
    /// j's value i for each column — `rows(_:ids:fields:group:columns:)` without text fields.
    public static func numberRows(_ rows: Range<Int>, ids: CustomerIDs, columns: [[Double]?]) -> [UInt8] {
        self.rows(rows, ids: ids, fields: [TextFields([])], group: nil, columns: columns)
    }

    /// A whole per-customer file of numbers, as pieces in row order: the header, then the rows
    /// rendered by `renderInOrder` (up to 65,536 customers a piece, two at a time) — the bytes
    /// of `appendRow` row after row.
    public static func pieces(columns: [String], ids: CustomerIDs, values: [[Double]?]) -> [[UInt8]] {
        var pieces = [header(columns)]
        renderInOrder(rows: ids.count, render: { rows, bytes in bytes = numberRows(rows, ids: ids, columns: values) },
                      consume: { pieces.append($0) })
        return pieces
    }

    /// The rows `rows` of a per-customer file rendered straight into one buffer: customer i of
    /// `ids`, then the text fields `fields[group[i]]` (`fields[0]` for every row when `group`
    /// is nil), then column j's value i for each column (NaN where a column is nil) — the bytes
    /// `appendRow(ids, i, fields:, values)` gives, without a row's scratch buffer and copy.
    ///
    /// With `repeated`, the numbers of each row are copied from its distinct row's text.
    public static func rows(_ rows: Range<Int>, ids: CustomerIDs, fields: [TextFields], group: [Int]?, columns: [[Double]?],
                            repeated: RepeatedNumbers? = nil) -> [UInt8] {
        let room = room(idBytes: ids.offsets[rows.upperBound] - ids.offsets[rows.lowerBound], rows: rows.count,
                        fieldBytes: fields.map(\.bytes.count).max() ?? 0, numbers: columns.count)
        // The columns and text fields are read through pointers held for the whole chunk: read
        // through the arrays of arrays, each row's reads retained and released them. The text
        // fields (one set per segment, and segments are many at times) go end to end in one
        // array.
        var fieldOffsets = [0]
        for set in fields { fieldOffsets.append(fieldOffsets.last! + set.bytes.count) }
        let allFields = fields.flatMap(\.bytes)
        return withUnsafeBuffers(columns.map { $0 ?? [] }) { present in
            allFields.withUnsafeBufferPointer { fieldBytes in fieldOffsets.withUnsafeBufferPointer { fieldOffsets in
                let fieldText = { (set: Int) in UnsafeBufferPointer(rebasing: fieldBytes[fieldOffsets[set]..<fieldOffsets[set + 1]]) }
                return [UInt8](unsafeUninitializedCapacity: room) { buffer, written in
                    var cursor = TextCursor(buffer.baseAddress!)
                    ids.bytes.withUnsafeBufferPointer { idText in
                        (repeated?.bytes ?? []).withUnsafeBufferPointer { numbers in
                            for i in rows {
                                let id = UnsafeBufferPointer(rebasing: idText[ids.offsets[i]..<ids.offsets[i + 1]])
                                // A row whose numbers are not its group's, to the bit, is rendered as
                                // it comes: the caller's grouping is a promise the copy does not rest on.
                                if let repeated, case let shared = Int(repeated.shared[Int(repeated.group[i])]), shared >= 0,
                                   RepeatedNumbers.sameNumbers(i, as: Int(repeated.rows[shared]), present) {
                                    cursor.put(field: id)
                                    cursor.put(fieldText(group?[i] ?? 0))
                                    cursor.put(UnsafeBufferPointer(rebasing: numbers[repeated.offsets[shared]..<repeated.offsets[shared + 1]]))
                                    cursor.put(0x0A)
                                } else {
                                    cursor.put(row: id, fields: fieldText(group?[i] ?? 0), numbers: present.count) {
                                        present[$0].isEmpty ? .nan : present[$0][i]
                                    }
                                }
                            }
                        }
                    }
                    written = cursor.position - buffer.baseAddress!
                }
            } }
        }
    }

    /// The numbers of a per-customer file rendered once per distinct row that several rows
    /// share, for a file whose rows repeat them: customers with the same history and spend
    /// have the same scores, and one-time buyers, most customers of most shops, share one
    /// history per first-purchase day. A row copies the numbers (each after its comma, NaN
    /// where a column is nil) of the row `first[group[i]]` when its own numbers are the same
    /// bits; a row alone in its group, or whose numbers differ, is rendered as it comes.
    public struct RepeatedNumbers: Sendable {
        /// The distinct row of each row.
        let group: [Int32]
        /// Each distinct row's place among the shared ones (−1: a row of its own).
        let shared: [Int32]
        /// The row whose numbers each shared one holds.
        let rows: [Int32]
        let bytes: [UInt8]
        /// Shared row s's text is `bytes[offsets[s]..<offsets[s + 1]]`.
        let offsets: [Int]

        public init(group: [Int32], first: [Int32], counts: [Double], columns: [[Double]?]) {
            let present = columns.map { $0 ?? [] }
            var shared = [Int32](repeating: -1, count: first.count)
            var rows: [Int32] = []
            for g in first.indices where counts[g] > 1 {
                shared[g] = Int32(rows.count)
                rows.append(first[g])
            }
            var offsets: [Int] = []
            offsets.reserveCapacity(rows.count + 1)
            bytes = [UInt8](unsafeUninitializedCapacity: rows.count * present.count * (TextCursor.longestNumber + 1)) { buffer, written in
                var cursor = TextCursor(buffer.baseAddress!)
                for row in rows.lazy.map(Int.init) {
                    offsets.append(cursor.position - buffer.baseAddress!)
                    for j in present.indices {
                        cursor.put(0x2C)
                        cursor.put(number: present[j].isEmpty ? .nan : present[j][row])
                    }
                }
                written = cursor.position - buffer.baseAddress!
            }
            offsets.append(bytes.count)
            (self.group, self.shared, self.rows, self.offsets) = (group, shared, rows, offsets)
        }

        /// Whether row `i` has row `j`'s numbers, bit for bit.
        @inline(__always)
        static func sameNumbers(_ i: Int, as j: Int, _ columns: UnsafeBufferPointer<UnsafeBufferPointer<Double>>) -> Bool {
            for column in columns where !column.isEmpty && column[i].bitPattern != column[j].bitPattern { return false }
            return true
        }
    }

    /// The most bytes `rows` rows can take: each id quoted with every byte doubled, at most
    /// `fieldBytes` of text fields, `numbers` numbers after their commas, and the line's end.
    private static func room(idBytes: Int, rows: Int, fieldBytes: Int, numbers: Int) -> Int {
        2 * idBytes + rows * (3 + fieldBytes + numbers * (TextCursor.longestNumber + 1))
    }
}

extension TextCursor {
    /// One row of a per-customer file: the id (quoted where RFC 4180 asks), the text fields
    /// (`CSVWriter.TextFields`' bytes), `numbers` numbers (`number(j)`), each after its comma,
    /// and the line's end.
    @inline(__always)
    mutating func put<ID: BidirectionalCollection>(row id: ID, fields: UnsafeBufferPointer<UInt8>, numbers: Int, _ number: (Int) -> Double)
        where ID.Element == UInt8 {
        put(field: id)
        put(fields)
        for j in 0..<numbers {
            put(0x2C)
            put(number: number(j))
        }
        put(0x0A)
    }
}
