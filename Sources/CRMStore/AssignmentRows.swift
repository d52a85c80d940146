/// assignments.csv, one row per customer, streamed: each call to `next` checks a row and
/// leaves its fields in reused storage, so a million customers cost no allocation per row.
/// Both writers take the same parsed numbers: SQLite binds them, PostgreSQL's binary COPY
/// sends their eight bytes.
///
/// Checks, each failing with the file, line and column: the header holds exactly the
/// columns below (in any order); a customer id is not empty; a segment is a segment of
/// profiles.csv and its label is that segment's label; a measure is a finite number, or
/// empty or `nan` (as the pipeline writes a value it could not compute), which is stored as
/// NULL. At the end, each segment's rows are counted against its size in profiles.csv, so
/// that a file cut short or added to is refused (before the transaction commits). A customer
/// listed twice is left to the database's primary key.
import Transactions

/// `@unchecked Sendable`: one thread at a time reads it; both exports hand it whole to the
/// reading thread of `AssignmentBatches`.
final class AssignmentRows: @unchecked Sendable {
    static let identityColumns = ["customer_id", "segment", "segment_label"]
    static let measureColumns = ["frequency", "recency", "T", "monetary_value", "expected_purchases",
                                 "p_alive", "churn_probability", "clv"]
    /// What each measure can be, by its meaning: counts and durations are not negative,
    /// probabilities lie in [0, 1]; spend and CLV are left free (refunds).
    static let measureRanges: [(range: ClosedRange<Double>, what: String)?] = {
        let notNegative = 0...Double.greatestFiniteMagnitude, probability = (0.0...1, "a probability in [0, 1]")
        return [(notNegative, "a count ≥ 0"), (notNegative, "a duration ≥ 0"), (notNegative, "a duration ≥ 0"), nil,
                (notNegative, "a number ≥ 0"), probability, probability, nil]
    }()

    private var records: CSVRecords
    /// For each of `identityColumns + measureColumns`, its field index in the file.
    private let fieldIndex: [Int]
    /// For each segment id of profiles.csv, its position in the segments given to `init`.
    private let segmentIndexes: [Int: Int]
    private let labels: [[UInt8]]
    /// Each segment's size in profiles.csv, and its rows so far.
    private let sizes: [(id: Int, size: Int)]
    private var counts: [Int]

    private(set) var customerID = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The row's segment's position in the segments given to `init`.
    private(set) var segmentIndex = 0
    /// The measures of the row, in `measureColumns` order; NaN stands for NULL.
    private(set) var measures = [Double](repeating: .nan, count: measureColumns.count)
    var line: Int { records.line }
    let path: String

    init(path: String, segments: [SegmentProfile]) throws {
        self.path = path
        records = try CSVRecords(path: path)
        guard try records.next() else { throw CRMStoreError.file(path, "empty; expected a header and one row per customer") }
        let header = records.fields.map(\.text)
        let expected = Self.identityColumns + Self.measureColumns
        var index: [Int] = []
        for column in expected {
            guard let position = header.firstIndex(of: column) else {
                throw CRMStoreError.record(path, line: 1, "missing column \(column); expected \(expected.joined(separator: ","))")
            }
            index.append(position)
        }
        if let extra = header.first(where: { !expected.contains($0) }) ?? (header.count > expected.count ? header.last : nil) {
            throw CRMStoreError.field(path, line: 1, column: extra, "unexpected; expected \(expected.joined(separator: ","))")
        }
        fieldIndex = index
        segmentIndexes = Dictionary(uniqueKeysWithValues: segments.enumerated().map { ($0.element.id, $0.offset) })
        labels = segments.map { Array($0.label.utf8) }
        sizes = segments.map { ($0.id, $0.size) }
        counts = [Int](repeating: 0, count: segments.count)
    }

    /// Reads and checks the next row; false at the end of the file.
    func next() throws -> Bool {
        guard try records.next() else {
            for (segment, counted) in zip(sizes, counts) where counted != segment.size {
                throw CRMStoreError.file(path, "\(counted) rows of segment \(segment.id), whose size in profiles.csv is \(segment.size); the result directory is not one run's")
            }
            return false
        }
        let fields = records.fields
        guard fields.count == fieldIndex.count else {
            throw CRMStoreError.record(path, line: line, "\(fields.count) fields; expected \(fieldIndex.count)")
        }
        customerID = fields[fieldIndex[0]]
        guard customerID.count > 0 else {
            throw CRMStoreError.field(path, line: line, column: "customer_id", "empty; expected the customer's id")
        }
        // As every reader of customer ids: bytes in another encoding would be stored as text
        // SQLite keeps and no reader decodes, or fail PostgreSQL's COPY part-way.
        guard CustomerIDs.isUTF8(customerID.baseAddress!.assumingMemoryBound(to: UInt8.self), customerID.count) else {
            throw CRMStoreError.field(path, line: line, column: "customer_id", CustomerIDs.notUTF8Message(Array(customerID)))
        }
        let segmentField = fields[fieldIndex[1]]
        guard let segment = parseWholeNumber(segmentField), let segmentIndex = segmentIndexes[segment] else {
            throw CRMStoreError.field(path, line: line, column: "segment",
                                      "expected one of the segment ids of profiles.csv (\(segmentIndexes.keys.sorted().map(String.init).joined(separator: ", "))), got \"\(segmentField.text)\"")
        }
        self.segmentIndex = segmentIndex
        counts[segmentIndex] += 1
        let label = labels[segmentIndex]
        let segmentLabel = fields[fieldIndex[2]]
        guard segmentLabel.elementsEqual(label) else {
            throw CRMStoreError.field(path, line: line, column: "segment_label",
                                      "expected \"\(String(decoding: label, as: UTF8.self))\", the label of segment \(segment) in profiles.csv, got \"\(segmentLabel.text)\"")
        }
        for m in 0..<Self.measureColumns.count {
            let field = fields[fieldIndex[3 + m]]
            let value = try parseMeasure(field, path: path, line: line, column: Self.measureColumns[m])
            if let value, let (range, what) = Self.measureRanges[m], !range.contains(value) {
                throw CRMStoreError.field(path, line: line, column: Self.measureColumns[m], "expected \(what), got \"\(field.text)\"")
            }
            measures[m] = value ?? .nan
        }
        return true
    }
}

/// A finite number, or nil for an empty field or `nan`; anything else is an error naming
/// the place. The conversion is Transactions' `parseAmount`, exact like `strtod` and several
/// times faster on the 17-digit numbers a result file holds.
func parseMeasure(_ field: UnsafeRawBufferPointer, path: String, line: Int, column: String) throws -> Double? {
    if field.isEmpty { return nil }
    if field.count == 3, field[0] | 0x20 == 0x6E, field[1] | 0x20 == 0x61, field[2] | 0x20 == 0x6E { return nil }
    guard case .value(let value) = parseAmount(field.baseAddress!.assumingMemoryBound(to: UInt8.self), field.count) else {
        throw CRMStoreError.field(path, line: line, column: column, "expected a finite number, empty or nan, got \"\(field.text)\"")
    }
    return value
}

/// A whole number written in decimal digits with an optional minus sign, or nil.
func parseWholeNumber(_ field: UnsafeRawBufferPointer) -> Int? {
    guard !field.isEmpty, field.count <= 18 else { return nil }
    var negative = false
    var value = 0
    for (offset, byte) in field.enumerated() {
        if offset == 0, byte == 0x2D, field.count > 1 { negative = true; continue }
        guard byte >= 0x30, byte <= 0x39 else { return nil }
        value = value * 10 + Int(byte - 0x30)
    }
    return negative ? -value : value
}
