extension CustomerSummary {
    /// The CSV header: `customer_id,frequency,recency,T,monetary_value`, then
    /// `frequency_holdout,monetary_value_holdout,duration_holdout` after a split.
    public var csvColumns: [String] {
        var columns = ["customer_id", "frequency", "recency", "T"]
        if monetaryValue != nil { columns.append("monetary_value") }
        if let holdout {
            columns.append("frequency_holdout")
            if holdout.monetaryValue != nil { columns.append("monetary_value_holdout") }
            columns.append("duration_holdout")
        }
        return columns
    }

    /// The summary as CSV bytes. Numbers are written in the shortest form that reads back to
    /// the same double.
    public func csvBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        forEachCSVPiece { bytes += $0 }
        return bytes
    }

    /// Writes the CSV atomically: the file appears whole or not at all.
    public func writeCSV(to path: String) throws {
        var pieces: [[UInt8]] = []
        forEachCSVPiece { pieces.append($0) }
        try writeFileAtomically(pieces: pieces, to: path)
    }

    /// The header, then the rows rendered a chunk at a time on two threads, in order.
    private func forEachCSVPiece(_ consume: ([UInt8]) -> Void) {
        consume(Array((csvColumns.joined(separator: ",") + "\n").utf8))
        // At most: an id quoted with every byte doubled, seven numbers and their separators.
        let fieldRoom = 7 * (TextCursor.longestNumber + 1) + 3
        renderInOrder(rows: count, render: { rows, bytes in
            let idBytes = customerIDs.offsets[rows.upperBound] - customerIDs.offsets[rows.lowerBound]
            bytes = [UInt8](unsafeUninitializedCapacity: 2 * idBytes + rows.count * fieldRoom) { buffer, written in
                var cursor = TextCursor(buffer.baseAddress!)
                for i in rows { putRow(i, into: &cursor) }
                written = cursor.position - buffer.baseAddress!
            }
        }, consume: consume)
    }

    private func putRow(_ i: Int, into row: inout TextCursor) {
        row.put(field: customerIDs.bytes[customerIDs.offsets[i]..<customerIDs.offsets[i + 1]])
        row.put(0x2C)
        row.put(number: frequency[i])
        row.put(0x2C)
        row.put(number: recency[i])
        row.put(0x2C)
        row.put(number: T[i])
        if let monetaryValue {
            row.put(0x2C)
            row.put(number: monetaryValue[i])
        }
        if let holdout {
            row.put(0x2C)
            row.put(number: holdout.frequency[i])
            if let values = holdout.monetaryValue {
                row.put(0x2C)
                row.put(number: values[i])
            }
            row.put(0x2C)
            row.put(number: holdout.duration)
        }
        row.put(0x0A)
    }
}

/// Appends a field, quoted as `TextCursor.put(field:)` says.
func appendCSVField<C: BidirectionalCollection>(_ field: C, to bytes: inout [UInt8]) where C.Element == UInt8 {
    appendRendered(to: &bytes, capacity: 2 * field.count + 2) { $0.put(field: field) }
}

/// Renders at most `capacity` bytes through a cursor into a scratch buffer (on the stack when
/// small) and appends them in one piece: a row costs one append, not one per field and digit.
@inline(__always)
func appendRendered(to bytes: inout [UInt8], capacity: Int, _ render: (inout TextCursor) -> Void) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
        var cursor = TextCursor(buffer.baseAddress!)
        render(&cursor)
        bytes.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress, count: cursor.position - buffer.baseAddress!))
    }
}

/// Where the text of a row goes, byte after byte; whoever makes the cursor makes room for
/// what is put through it (`longestNumber` for a number, 2n + 2 for a field of n bytes).
struct TextCursor {
    private(set) var position: UnsafeMutablePointer<UInt8>

    /// The longest number text: 24 characters (`-2.2250738585072014e-308`), rounded up.
    static let longestNumber = 32

    init(_ start: UnsafeMutablePointer<UInt8>) { position = start }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        position.pointee = byte
        position += 1
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        position.update(from: base, count: bytes.count)
        position += bytes.count
    }

    /// A field, quoted as RFC 4180 asks when it holds a comma, quote or line break, and when
    /// it starts or ends with a blank (`isFieldBlank`), which readers (Clientele's among them)
    /// trim from a field that is not quoted: ` C1 ` must not come back as `C1`.
    mutating func put<C: BidirectionalCollection>(field: C) where C.Element == UInt8 {
        let needsQuotes = field.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
            || field.first.map(isFieldBlank) == true || field.last.map(isFieldBlank) == true
        if needsQuotes { put(0x22) }
        for b in field {
            if b == 0x22 { put(0x22) }
            put(b)
        }
        if needsQuotes { put(0x22) }
    }

    @inline(__always)
    mutating func put(number value: Int) {
        if value < 0 { put(0x2D) }
        put(digits: UInt64(value.magnitude))
    }

    /// The shortest decimal form that reads back to the same double, as Swift's `description`
    /// writes it. Whole numbers (durations in days, counts) are written directly, and
    /// durations in weeks counted in days (d/7, as `PeriodScale` divides them) are copied from
    /// a table made once: between them they are most of a summary's numbers and a third of an
    /// assignment row's, and the general conversion costs about ten times as much.
    @inline(__always)
    mutating func put(number value: Double) {
        if value.rounded(.towardZero) == value, abs(value) < 1e15 {
            if value < 0 || (value == 0 && value.sign == .minus) { put(0x2D) }
            put(digits: UInt64(abs(value)))
            put(0x2E)
            put(0x30)
            return
        }
        let sevenths = (value * 7).rounded()
        if sevenths > 0, sevenths < Double(Sevenths.count), sevenths / 7 == value {
            Sevenths.text.put(Int(sevenths), into: &self)
            return
        }
        var sink = CursorSink(cursor: self)
        value.write(to: &sink)
        self = sink.cursor
    }

    @inline(__always)
    mutating func put(digits value: UInt64) {
        if value < 10 {
            put(UInt8(48 + value))
            return
        }
        var count = 0, v = value
        while v > 0 {
            count += 1
            v /= 10
        }
        v = value
        for k in stride(from: count - 1, through: 0, by: -1) {
            position[k] = UInt8(48 + v % 10)
            v /= 10
        }
        position += count
    }
}

/// The text of d/7 for every d below `count` (about 22 years of days), in one buffer.
private enum Sevenths {
    static let count = 8192

    struct Table: Sendable {
        let bytes: [UInt8]
        /// Entry d is `bytes[offsets[d]..<offsets[d + 1]]`.
        let offsets: [Int32]

        @inline(__always)
        func put(_ d: Int, into cursor: inout TextCursor) {
            bytes.withUnsafeBufferPointer { all in
                offsets.withUnsafeBufferPointer { offsets in
                    cursor.put(UnsafeBufferPointer(rebasing: all[Int(offsets[d])..<Int(offsets[d + 1])]))
                }
            }
        }
    }

    static let text: Table = {
        var bytes: [UInt8] = [], offsets: [Int32] = [0]
        bytes.reserveCapacity(count * 19)
        for d in 0..<count {
            bytes += Array((Double(d) / 7).description.utf8)
            offsets.append(Int32(bytes.count))
        }
        return Table(bytes: bytes, offsets: offsets)
    }()
}

/// Where a double writes its shortest round-tripping text (the same characters as its
/// `description`) without building a String: the standard library's `write(to:)` for floating
/// point hands its digits from a stack buffer to `_writeASCII`, the text stream's entry for
/// ASCII bytes, while `description` allocated a String for every number longer than 15
/// characters, which most model outputs are.
private struct CursorSink: TextOutputStream {
    var cursor: TextCursor

    mutating func write(_ string: String) {
        for byte in string.utf8 { cursor.put(byte) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { cursor.put(buffer) }
}
