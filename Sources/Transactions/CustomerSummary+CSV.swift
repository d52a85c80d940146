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

    /// `fingerprint(csvBytes())`, rendered and hashed a chunk at a time.
    public func csvFingerprint() -> String {
        var hash = FNV1a()
        forEachCSVPiece { hash.add($0) }
        return hash.fingerprint
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
        renderInOrder(rows: count, render: { rows, bytes in
            bytes.reserveCapacity(rows.count * 48)
            for i in rows { appendRow(i, to: &bytes) }
        }, consume: consume)
    }

    private func appendRow(_ i: Int, to bytes: inout [UInt8]) {
        appendCSVField(customerIDs.bytes[customerIDs.offsets[i]..<customerIDs.offsets[i + 1]], to: &bytes)
        bytes.append(0x2C)
        appendNumber(frequency[i], to: &bytes)
        bytes.append(0x2C)
        appendNumber(recency[i], to: &bytes)
        bytes.append(0x2C)
        appendNumber(T[i], to: &bytes)
        if let monetaryValue {
            bytes.append(0x2C)
            appendNumber(monetaryValue[i], to: &bytes)
        }
        if let holdout {
            bytes.append(0x2C)
            appendNumber(holdout.frequency[i], to: &bytes)
            if let values = holdout.monetaryValue {
                bytes.append(0x2C)
                appendNumber(values[i], to: &bytes)
            }
            bytes.append(0x2C)
            appendNumber(holdout.duration, to: &bytes)
        }
        bytes.append(0x0A)
    }
}

/// Appends a field, quoted as RFC 4180 asks when it holds a comma, quote or line break.
func appendCSVField<C: Collection>(_ field: C, to bytes: inout [UInt8]) where C.Element == UInt8 {
    let needsQuotes = field.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
    guard needsQuotes else {
        bytes.append(contentsOf: field)
        return
    }
    bytes.append(0x22)
    for b in field {
        if b == 0x22 { bytes.append(0x22) }
        bytes.append(b)
    }
    bytes.append(0x22)
}

@inline(__always)
func appendNumber(_ value: Int, to bytes: inout [UInt8]) {
    if value < 0 { bytes.append(0x2D) }
    appendDigits(UInt64(value.magnitude), to: &bytes)
}

/// The shortest decimal form that reads back to the same double, as Swift's `description`
/// writes it. Whole numbers (durations in days, counts) are written directly, and durations
/// in weeks counted in days (d/7, as `PeriodScale` divides them) are copied from a table made
/// once: between them they are most of a summary's numbers and a third of an assignment
/// row's, and the general conversion costs about ten times as much.
@inline(__always)
func appendNumber(_ value: Double, to bytes: inout [UInt8]) {
    if value.rounded(.towardZero) == value, abs(value) < 1e15 {
        if value < 0 || (value == 0 && value.sign == .minus) { bytes.append(0x2D) }
        appendDigits(UInt64(abs(value)), to: &bytes)
        bytes.append(0x2E)
        bytes.append(0x30)
        return
    }
    let sevenths = (value * 7).rounded()
    if sevenths > 0, sevenths < Double(Sevenths.count), sevenths / 7 == value {
        Sevenths.text.append(Int(sevenths), to: &bytes)
        return
    }
    var sink = ASCIISink()
    swap(&sink.bytes, &bytes)
    value.write(to: &sink)
    swap(&sink.bytes, &bytes)
}

/// The text of d/7 for every d below `count` (about 22 years of days), in one buffer.
private enum Sevenths {
    static let count = 8192

    struct Table: Sendable {
        let bytes: [UInt8]
        /// Entry d is `bytes[offsets[d]..<offsets[d + 1]]`.
        let offsets: [Int32]

        @inline(__always)
        func append(_ d: Int, to target: inout [UInt8]) {
            bytes.withUnsafeBufferPointer { all in
                offsets.withUnsafeBufferPointer { offsets in
                    target.append(contentsOf: UnsafeBufferPointer(rebasing: all[Int(offsets[d])..<Int(offsets[d + 1])]))
                }
            }
        }
    }

    static let text: Table = {
        var bytes: [UInt8] = [], offsets: [Int32] = [0]
        bytes.reserveCapacity(count * 19)
        for d in 0..<count {
            var sink = ASCIISink()
            (Double(d) / 7).write(to: &sink)
            bytes += sink.bytes
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
private struct ASCIISink: TextOutputStream {
    var bytes: [UInt8] = []

    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}

@inline(__always)
private func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
    if value < 10 {
        bytes.append(UInt8(48 + value))
        return
    }
    var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var count = 0
    var v = value
    withUnsafeMutableBytes(of: &digits) { buffer in
        while v > 0 {
            buffer[31 - count] = UInt8(48 + v % 10)
            v /= 10
            count += 1
        }
        bytes.append(contentsOf: buffer[(32 - count)...])
    }
}
