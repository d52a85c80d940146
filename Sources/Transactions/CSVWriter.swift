/// Builds a CSV of one id column and numeric columns, as the per-customer outputs
/// (predictions, assignments) need: ids quoted when RFC 4180 asks, numbers in their
/// shortest round-tripping form.
public struct CSVWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private let width: Int

    /// `header: false` starts without the header line, for the later pieces of a file
    /// rendered in parts.
    public init(columns: [String], expectedRows: Int = 0, header: Bool = true) {
        bytes = header ? Array((columns.joined(separator: ",") + "\n").utf8) : []
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
        let capacity = 2 * id.count + 3 + fields.bytes.count + values.count * (TextCursor.longestNumber + 1)
        appendRendered(to: &bytes, capacity: capacity) { row in
            row.put(field: id)
            fields.bytes.withUnsafeBufferPointer { row.put($0) }
            for value in values {
                row.put(0x2C)
                row.put(number: value)
            }
            row.put(0x0A)
        }
    }

    /// The rows `rows` of a per-customer file rendered straight into one buffer: customer i of
    /// `ids`, then the text fields `fields[group[i]]`, then column j's value i for each
    /// column (NaN where a column is nil) — the bytes `appendRow(ids, i, fields:, values)`
    /// gives, without a row's scratch buffer and copy.
    public static func rows(_ rows: Range<Int>, ids: CustomerIDs, fields: [TextFields], group: [Int], columns: [[Double]?]) -> [UInt8] {
        let idBytes = ids.offsets[rows.upperBound] - ids.offsets[rows.lowerBound]
        let longestFields = fields.map(\.bytes.count).max() ?? 0
        let room = 2 * idBytes + rows.count * (2 + longestFields + columns.count * (TextCursor.longestNumber + 1))
        let present = columns.map { $0 ?? [] }
        return [UInt8](unsafeUninitializedCapacity: room) { buffer, written in
            var cursor = TextCursor(buffer.baseAddress!)
            ids.bytes.withUnsafeBufferPointer { idText in
                for i in rows {
                    cursor.put(field: UnsafeBufferPointer(rebasing: idText[ids.offsets[i]..<ids.offsets[i + 1]]))
                    fields[group[i]].bytes.withUnsafeBufferPointer { cursor.put($0) }
                    for j in present.indices {
                        cursor.put(0x2C)
                        cursor.put(number: present[j].isEmpty ? .nan : present[j][i])
                    }
                    cursor.put(0x0A)
                }
            }
            written = cursor.position - buffer.baseAddress!
        }
    }
}
