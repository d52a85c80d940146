/// One field of a record: the bytes `start..<end` of the scanned buffer, quotes removed.
struct FieldSpan {
    var start: Int
    var end: Int
    /// The field was quoted; it may hold `""` escapes that `text` turns into `"`.
    var quoted: Bool
}

/// The fields of the current record: a buffer the scanner reuses for every record, so that
/// splitting a row allocates nothing and checks no copy-on-write uniqueness.
final class FieldBuffer {
    private(set) var storage: UnsafeMutablePointer<FieldSpan>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 4)
        storage = .allocate(capacity: self.capacity)
    }

    deinit {
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    subscript(i: Int) -> FieldSpan { storage[i] }

    @inline(__always)
    func removeAll() { count = 0 }

    @inline(__always)
    func append(_ field: FieldSpan) {
        if count == capacity { grow() }
        storage[count] = field
        count += 1
    }

    private func grow() {
        let larger = UnsafeMutablePointer<FieldSpan>.allocate(capacity: capacity * 2)
        larger.initialize(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }

    func map<T>(_ transform: (FieldSpan) -> T) -> [T] {
        (0..<count).map { transform(storage[$0]) }
    }
}

enum ScanOutcome {
    /// A record was read; it starts on this line (1-based within the scan).
    case record(line: Int)
    /// The buffer ends inside a record and more input may follow.
    case incomplete
    /// Nothing is left.
    case end
}

struct ScanError: Error {
    var line: Int
    var message: String
}

/// Splits a buffer of delimited text into records and fields, in place.
///
/// It reads RFC 4180 quoting (a quoted field may hold delimiters, `""` and line breaks),
/// CRLF or LF line ends, blank lines (skipped) and blanks around unquoted fields (trimmed).
/// With `Delimiter.whitespace` any run of spaces and tabs separates fields.
///
/// The scanner never copies: fields are spans of the caller's buffer. It is the hot loop
/// of reading a transaction log, so it works on a raw pointer and keeps its state in a few
/// integers.
struct RecordScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    let delimiter: UInt8?
    private(set) var position: Int
    /// Physical lines fully consumed so far.
    private(set) var linesConsumed: Int = 0
    /// Where the last record `next` read starts (after any blank lines it skipped).
    private(set) var recordStart = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>, delimiter: Delimiter, from start: Int = 0) {
        base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        count = buffer.count
        self.delimiter = delimiter.byte
        position = start
    }

    /// Reads the next record into `fields`. When the buffer ends inside a record and
    /// `atEndOfInput` is false, the position stays at the record's start and `.incomplete`
    /// is returned, so that the caller can carry the rest over to the next buffer.
    @inline(__always)
    mutating func next(_ fields: FieldBuffer, atEndOfInput: Bool) throws(ScanError) -> ScanOutcome {
        while true {
            let recordStart = position
            let startLines = linesConsumed
            fields.removeAll()
            let done: Bool
            if let delimiter {
                done = try scanDelimited(fields, delimiter, atEndOfInput)
            } else {
                done = try scanWhitespace(fields, atEndOfInput)
            }
            if !done {
                position = recordStart
                linesConsumed = startLines
                return .incomplete
            }
            if fields.isEmpty {
                if position >= count { return .end }
                continue
            }
            if fields.count == 1, !fields[0].quoted, fields[0].start == fields[0].end {
                continue
            }
            self.recordStart = recordStart
            return .record(line: startLines + 1)
        }
    }

    /// The length in bytes of the last record `next` read, its line end (LF or CRLF) not
    /// counted: what the reader's record limit measures.
    var recordLength: Int {
        var end = position
        if end > recordStart, base[end - 1] == 0x0A {
            end -= 1
            if end > recordStart, base[end - 1] == 0x0D { end -= 1 }
        }
        return end - recordStart
    }

    /// Reads the next record when it is the common kind: `fieldCount` unquoted, non-empty
    /// fields with no blank at either edge, ended by a line feed. Returns the record's line,
    /// or nil with nothing consumed for any other record (or none), which `next` then reads
    /// with all its rules; on the records it accepts, both give the same fields.
    @inline(__always)
    mutating func nextPlain(_ fields: FieldBuffer, fieldCount: Int) -> Int? {
        guard let delimiter else { return nil }
        let delimiterPattern = UInt64(delimiter) &* 0x0101_0101_0101_0101
        fields.removeAll()
        var i = position
        for f in 0..<fieldCount {
            let start = i
            i = nextDelimiterOrLineFeed(from: i, delimiterPattern)
            guard i < count, i > start, base[i] == (f == fieldCount - 1 ? 0x0A : delimiter),
                  base[start] > 0x20, base[start] != 0x22, base[i - 1] > 0x20 else { return nil }
            fields.append(FieldSpan(start: start, end: i, quoted: false))
            i += 1
        }
        position = i
        linesConsumed += 1
        return linesConsumed
    }

    @inline(__always)
    private func isBlank(_ byte: UInt8, _ delimiter: UInt8) -> Bool {
        isFieldBlank(byte) && byte != delimiter
    }

    /// Returns false when the buffer ends inside the record and more input may follow.
    @inline(__always)
    private mutating func scanDelimited(_ fields: FieldBuffer, _ delimiter: UInt8, _ atEnd: Bool) throws(ScanError) -> Bool {
        var i = position
        if i >= count { return atEnd }
        let delimiterPattern = UInt64(delimiter) &* 0x0101_0101_0101_0101
        while true {
            while i < count, base[i] <= 0x20, isBlank(base[i], delimiter) { i += 1 }
            if i < count, base[i] == 0x22 {
                guard let closed = try scanQuoted(from: i, atEnd) else { return false }
                fields.append(FieldSpan(start: i + 1, end: closed, quoted: true))
                i = closed + 1
                while i < count, isBlank(base[i], delimiter) { i += 1 }
                if i < count, base[i] != delimiter, base[i] != 0x0A {
                    throw ScanError(line: linesConsumed + 1, message: "unexpected text after a closing quote")
                }
            } else {
                let start = i
                i = nextDelimiterOrLineFeed(from: i, delimiterPattern)
                if i == count, !atEnd { return false }
                var end = i
                while end > start, base[end - 1] <= 0x20, isBlank(base[end - 1], delimiter) { end -= 1 }
                fields.append(FieldSpan(start: start, end: end, quoted: false))
            }
            if i >= count {
                if !atEnd { return false }
                position = i
                return true
            }
            if base[i] == delimiter {
                i += 1
                continue
            }
            // A line feed ends the record.
            position = i + 1
            linesConsumed += 1
            return true
        }
    }

    /// The index of the first delimiter or line feed at or after `i`, or `count`.
    ///
    /// Eight bytes at a time (SWAR): a byte of `w ^ pattern` is zero where `w` holds the
    /// byte sought, and `(x - 0x01…01) & ~x & 0x80…80` sets the high bit of the lowest zero
    /// byte of `x` exactly (borrows only corrupt the bytes above it), so the lowest set bit
    /// locates the first match.
    @inline(__always)
    private func nextDelimiterOrLineFeed(from start: Int, _ delimiterPattern: UInt64) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let lineFeeds: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
        let raw = UnsafeRawPointer(base)
        var i = start
        while i + 8 <= count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let a = w ^ delimiterPattern, b = w ^ lineFeeds
            let hits = ((a &- ones) & ~a & highs) | ((b &- ones) & ~b & highs)
            if hits != 0 { return i + hits.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < count, base[i] != UInt8(truncatingIfNeeded: delimiterPattern), base[i] != 0x0A { i += 1 }
        return i
    }

    @inline(__always)
    private mutating func scanWhitespace(_ fields: FieldBuffer, _ atEnd: Bool) throws(ScanError) -> Bool {
        var i = position
        while true {
            while i < count, isFieldBlank(base[i]) { i += 1 }
            if i >= count {
                if !atEnd { return false }
                position = i
                return true
            }
            if base[i] == 0x0A {
                position = i + 1
                linesConsumed += 1
                return true
            }
            if base[i] == 0x22 {
                guard let closed = try scanQuoted(from: i, atEnd) else { return false }
                fields.append(FieldSpan(start: i + 1, end: closed, quoted: true))
                i = closed + 1
                if i < count, !(base[i] == 0x20 || base[i] == 0x09 || base[i] == 0x0D || base[i] == 0x0A) {
                    throw ScanError(line: linesConsumed + 1, message: "unexpected text after a closing quote")
                }
            } else {
                let start = i
                while i < count {
                    let b = base[i]
                    if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { break }
                    i += 1
                }
                if i == count, !atEnd { return false }
                fields.append(FieldSpan(start: start, end: i, quoted: false))
            }
        }
    }

    /// The index of the closing quote of the field whose opening quote is at `open`, or nil
    /// when the buffer ends first and more input may follow. Line feeds inside are counted.
    @inline(__always)
    private mutating func scanQuoted(from open: Int, _ atEnd: Bool) throws(ScanError) -> Int? {
        var i = open + 1
        let openingLine = linesConsumed + 1
        var newlines = 0
        while i < count {
            let b = base[i]
            if b == 0x22 {
                if i + 1 < count, base[i + 1] == 0x22 {
                    i += 2
                    continue
                }
                if i + 1 == count, !atEnd { return nil }
                linesConsumed += newlines
                return i
            }
            if b == 0x0A { newlines += 1 }
            i += 1
        }
        if atEnd {
            throw ScanError(line: openingLine, message: "a quoted field is not closed before the end of the file")
        }
        return nil
    }

    /// A field's value as an error message quotes it: whole when it has at most
    /// `wholeQuoteBytes` bytes, else its first `shortQuoteCharacters` characters, "…" and its
    /// size, so that a runaway field (a wrong delimiter, a file that is not a log) cannot make
    /// a message as long as itself. Only the shown part is decoded.
    func quoted(_ field: FieldSpan) -> String {
        var size = field.end - field.start
        if field.quoted {
            // Each `""` in a quoted field is one byte of its value.
            var quotes = 0
            for i in field.start..<field.end where base[i] == 0x22 { quotes += 1 }
            size -= quotes / 2
        }
        guard size > Self.wholeQuoteBytes else { return "\"\(text(field))\"" }
        // Enough bytes for the characters shown, cut where a UTF-8 sequence starts.
        var cut = min(field.end, field.start + 4 * Self.shortQuoteCharacters)
        while cut > field.start, cut < field.end, base[cut] & 0xC0 == 0x80 { cut -= 1 }
        let shown = text(FieldSpan(start: field.start, end: cut, quoted: field.quoted)).prefix(Self.shortQuoteCharacters)
        return "\"\(shown)…\" (\(size) bytes)"
    }

    static let wholeQuoteBytes = 64
    static let shortQuoteCharacters = 48

    /// The text of a field, with `""` turned into `"` in a quoted one.
    func text(_ field: FieldSpan) -> String {
        String(decoding: bytes(field), as: UTF8.self)
    }

    /// Calls `body` with the bytes of a field, with `""` turned into `"` in a quoted one:
    /// the file's own bytes for a field that is not quoted, so that a hot loop over ids makes
    /// no array per row.
    func withBytes<R>(_ field: FieldSpan, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        guard field.quoted else { return try body(UnsafeBufferPointer(start: base + field.start, count: field.end - field.start)) }
        return try bytes(field).withUnsafeBufferPointer(body)
    }

    /// The bytes of a field, with `""` turned into `"` in a quoted one.
    func bytes(_ field: FieldSpan) -> [UInt8] {
        let raw = UnsafeBufferPointer(start: base + field.start, count: field.end - field.start)
        guard field.quoted else { return Array(raw) }
        var result: [UInt8] = []
        result.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            result.append(raw[i])
            i += raw[i] == 0x22 ? 2 : 1
        }
        return result
    }
}

/// The blanks trimmed from around a field that is not quoted (space, tab, and the CR of a
/// CRLF line end); the writers quote a field that starts or ends with one, so that it reads
/// back as itself.
@inline(__always)
func isFieldBlank(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0D
}
