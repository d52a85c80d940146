/// Builds a CSV of one id column and numeric columns, as the per-customer outputs
/// (predictions, assignments) need: ids quoted when RFC 4180 asks, numbers in their
/// shortest round-tripping form.
public struct CSVWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private let width: Int

    public init(columns: [String], expectedRows: Int = 0) {
        bytes = Array((columns.joined(separator: ",") + "\n").utf8)
        bytes.reserveCapacity(bytes.count + expectedRows * 16 * columns.count)
        width = columns.count - 1
    }

    /// Appends customer `index` of `ids` with its values.
    public mutating func appendRow(_ ids: CustomerIDs, _ index: Int, _ values: [Double]) {
        appendRow(ids, index, fields: [], values)
    }

    /// Appends customer `index` of `ids`, then text fields (quoted when RFC 4180 asks), then
    /// numbers: the layout of per-customer results that carry a label beside the numbers.
    public mutating func appendRow(_ ids: CustomerIDs, _ index: Int, fields: [String], _ values: [Double]) {
        precondition(fields.count + values.count == width, "a row needs \(width) fields and values")
        appendCSVField(ids.bytes[ids.offsets[index]..<ids.offsets[index + 1]], to: &bytes)
        for field in fields {
            bytes.append(0x2C)
            appendCSVField(field.utf8, to: &bytes)
        }
        for value in values {
            bytes.append(0x2C)
            appendNumber(value, to: &bytes)
        }
        bytes.append(0x0A)
    }
}
