#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Reads a transaction log from a delimited text file.
///
/// The file is streamed in blocks, so memory grows with the number of transactions, not
/// the file size. Each block is cut at a line end near its middle and the two halves are
/// parsed on two threads; customers are keyed as `CustomerKeys` describes (numbered ids by
/// their number, others through a hash index merged in file order after each block), and
/// numbered in order of first appearance once the file is read. The cut depends only on
/// the bytes, never on the number of cores, so the result (down to the order of customers)
/// is the same on any machine. A block that holds a `"` is parsed whole on one thread,
/// since a quoted field may span a line end.
public enum TransactionLogReader {
    /// Bytes read from the file per block. Smaller than `maximumRecordBytes`, so only a
    /// record carried over from earlier blocks can pass the limit.
    static let blockSize = 8 << 20
    /// Parts shorter than this are parsed on one thread: a thread costs more than it saves.
    static let minimumSplitLength = 1 << 16
    /// The longest record accepted, its line end not counted: longer ones are far more
    /// likely a wrong delimiter or a file that is not a transaction log, and would otherwise
    /// make the reader hold it all.
    public static let maximumRecordBytes = 16 << 20

    public static func read(
        path: String,
        format: TransactionLogFormat,
        onBadRow policy: BadRowPolicy = .fail,
        progress: ((_ bytesRead: Int, _ totalBytes: Int) -> Void)? = nil
    ) throws -> TransactionLog {
        try read(path: path, format: format, onBadRow: policy, blockSize: blockSize, progress: progress)
    }

    /// `blockSize` is a parameter so that tests can cut a small file into many blocks.
    static func read(
        path: String,
        format: TransactionLogFormat,
        onBadRow policy: BadRowPolicy,
        blockSize: Int,
        progress: ((_ bytesRead: Int, _ totalBytes: Int) -> Void)?
    ) throws -> TransactionLog {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw TransactionsError.invalidFile(path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            throw TransactionsError.invalidFile(path, "is a directory, not a transaction log")
        }
        let totalBytes = Int(status.st_size)
        var reader = BlockReader(fd: fd, path: path, isRegularFile: (status.st_mode & S_IFMT) == S_IFREG)
        var session = ReadSession(path: path, format: format, policy: policy)
        var bytesRead = 0
        var isFirstBlock = true
        while true {
            let newBytes = try reader.fill(upTo: blockSize)
            bytesRead += newBytes
            let atEnd = reader.atEnd
            let consumed = try reader.withFilled { buffer, newStart in
                try session.checkForBinary(buffer, from: newStart)
                var start = 0
                if isFirstBlock {
                    // The header and a first data row must be whole before columns and the
                    // date format can be settled; until then the bytes are kept.
                    guard let dataStart = try session.begin(buffer, atEndOfInput: atEnd) else { return 0 }
                    start = dataStart
                    isFirstBlock = false
                }
                return try session.parse(buffer, from: start, atEndOfInput: atEnd)
            }
            reader.keep(from: consumed)
            progress?(bytesRead, totalBytes)
            if reader.atEnd { break }
            // The unfinished record is refused as soon as it is surely too long, whatever
            // follows: all but a last byte, which may be the CR of a CRLF, is its text.
            if reader.carried - session.unfinishedStart - 1 > maximumRecordBytes {
                throw session.recordTooLong(line: session.linesConsumed + 1)
            }
        }
        return try session.finish()
    }
}

/// The file's bytes, a block at a time, with the unfinished tail of one block carried to the
/// front of the next.
///
/// A regular file's block is read as two halves at once with `pread`: copying from the page
/// cache is a tenth of the work of reading a log, and would otherwise hold both parsing
/// threads up between blocks. Pipes and other streams are read with `read`.
private struct BlockReader {
    let fd: Int32
    let path: String
    let seekable: Bool
    private var buffer: [UInt8] = []
    private var filled = 0
    /// Where the next unread byte is in the file, for `pread`.
    private var offset = 0
    private(set) var carried = 0
    private(set) var atEnd = false

    init(fd: Int32, path: String, isRegularFile: Bool) {
        self.fd = fd
        self.path = path
        seekable = isRegularFile
    }

    /// Reads up to `size` more bytes after the carried ones; returns how many came.
    mutating func fill(upTo size: Int) throws -> Int {
        let needed = carried + size
        if buffer.count < needed {
            // A megabyte of slack, so that carrying a line over does not grow it again.
            var larger = [UInt8](repeating: 0, count: needed + (1 << 20))
            larger.withUnsafeMutableBufferPointer { target in
                buffer.withUnsafeBufferPointer { old in
                    _ = target.update(fromContentsOf: old)
                }
            }
            buffer = larger
        }
        filled = carried
        if seekable, size >= 1 << 20 {
            let halves = [0, size / 2, size]
            var counts = [Int](repeating: 0, count: 2)
            var failures = [Int32](repeating: 0, count: 2)
            let start = carried, fileOffset = offset
            buffer.withUnsafeMutableBytes { raw in
                counts.withUnsafeMutableBufferPointer { counts in
                    failures.withUnsafeMutableBufferPointer { failures in
                        parallelFor(2) { t in
                            var got = 0
                            let wanted = halves[t + 1] - halves[t]
                            while got < wanted {
                                let n = pread(fd, raw.baseAddress! + start + halves[t] + got, wanted - got, off_t(fileOffset + halves[t] + got))
                                if n < 0 {
                                    if errno == EINTR { continue }
                                    failures[t] = errno
                                    break
                                }
                                if n == 0 { break }
                                got += n
                            }
                            counts[t] = got
                        }
                    }
                }
            }
            if let failure = failures.first(where: { $0 != 0 }) {
                throw TransactionsError.invalidFile(path, "read failed: \(String(cString: strerror(failure)))")
            }
            // A short first half is the end of the file: nothing after it is contiguous.
            let got = counts[0] < halves[1] ? counts[0] : halves[1] + counts[1]
            filled += got
            offset += got
            atEnd = got < size
            return got
        }
        while filled < needed {
            let n = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + filled, needed - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw TransactionsError.invalidFile(path, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                atEnd = true
                break
            }
            filled += n
            offset += n
        }
        return filled - carried
    }

    /// Gives the filled bytes and where the new ones start.
    func withFilled<R>(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> R) throws -> R {
        let newStart = carried
        let count = filled
        return try buffer.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[0..<count]), newStart)
        }
    }

    /// Keeps the bytes from `offset` on for the next block.
    mutating func keep(from offset: Int) {
        let rest = filled - offset
        if rest > 0, offset > 0 {
            buffer.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + offset, rest)
            }
        }
        carried = rest
    }
}

/// The columns a parser needs, resolved to 0-based indices.
struct ResolvedColumns {
    var customer: Int
    var date: Int
    var amount: Int?
    var fieldCount: Int
    /// Names for error messages, by index.
    var names: [String]
}

/// The state of reading one file: the header, the detected date format, the customer keys
/// and the records so far.
private struct ReadSession {
    let path: String
    let format: TransactionLogFormat
    let policy: BadRowPolicy
    var columns: ResolvedColumns?
    var dateFormat: DateFormat?
    /// The shape of the first data row's id; ids of that shape are keyed by their number.
    var numberedShape: NumberedIDShape?
    var shapeSettled = false
    /// One more than the largest id number met.
    var numberSpan = 0
    /// The ids that are not numbered.
    var customers = CustomerIndex(capacity: 1 << 16)
    var recordChunks: [[TransactionRecord]] = []
    var transactionCount = 0
    var linesConsumed = 0
    /// Where the record that the unconsumed bytes end in starts: after the header while
    /// `begin` waits for a whole first row, else 0.
    var unfinishedStart = 0
    var skippedCount = 0
    var skipped: [SkippedRow] = []
    var minDay = Int32.max
    var maxDay = Int32.min

    init(path: String, format: TransactionLogFormat, policy: BadRowPolicy) {
        self.path = path
        self.format = format
        self.policy = policy
    }

    func checkForBinary(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) throws {
        guard start < buffer.count,
              let hit = memchr(buffer.baseAddress! + start, 0, buffer.count - start) else { return }
        let offset = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - buffer.baseAddress!
        var line = linesConsumed + 1
        for i in 0..<offset where buffer[i] == 0x0A { line += 1 }
        throw TransactionsError.invalidInput(
            SourceLocation(file: path, line: line), "binary data (a NUL byte): this is not a text transaction log")
    }

    /// Reads the header (or the first record, without one), resolves the columns and detects
    /// the date format. Returns where the data rows start, or nil when the buffer does not
    /// yet hold the header and a whole first row.
    mutating func begin(_ buffer: UnsafeBufferPointer<UInt8>, atEndOfInput: Bool) throws -> Int? {
        var start = 0
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { start = 3 }
        var scanner = RecordScanner(buffer, delimiter: format.delimiter, from: start)
        let fields = FieldBuffer()
        let first: ScanOutcome
        do {
            first = try scanner.next(fields, atEndOfInput: atEndOfInput)
        } catch {
            throw TransactionsError.invalidInput(SourceLocation(file: path, line: error.line), error.message)
        }
        guard case .record(let firstLine) = first else {
            if case .incomplete = first {
                unfinishedStart = scanner.position
                return nil
            }
            throw TransactionsError.invalidFile(path, "the file is empty: expected \(format.hasHeader ? "a header and " : "")transaction rows")
        }
        try checkLength(scanner, line: firstLine)
        let header: [String]? = format.hasHeader ? fields.map { scanner.text($0) } : nil
        columns = try resolveColumns(header: header, fieldCount: fields.count)
        var headerLines = 0
        if format.hasHeader {
            start = scanner.position
            headerLines = scanner.linesConsumed
        }
        if let given = format.dateFormat {
            dateFormat = given
        } else {
            guard let detected = try detectDateFormat(buffer, from: start, lineOffset: headerLines, atEndOfInput: atEndOfInput) else {
                // Read again with more bytes; meanwhile errors point past the header.
                linesConsumed = headerLines
                unfinishedStart = start
                return nil
            }
            dateFormat = detected
        }
        linesConsumed = headerLines
        unfinishedStart = 0
        return start
    }

    /// Refuses the record `scanner` has just read when it is longer than the limit.
    func checkLength(_ scanner: RecordScanner, line: Int) throws {
        if scanner.recordLength > TransactionLogReader.maximumRecordBytes { throw recordTooLong(line: line) }
    }

    func recordTooLong(line: Int) -> TransactionsError {
        TransactionsError.invalidInput(
            SourceLocation(file: path, line: line),
            "a line longer than \(TransactionLogReader.maximumRecordBytes >> 20) MiB: is the delimiter right, and is this a transaction log?")
    }

    private func resolveColumns(header: [String]?, fieldCount: Int) throws -> ResolvedColumns {
        let names = header ?? (1...fieldCount).map(String.init)
        func resolve(_ reference: ColumnReference, _ role: String) throws -> Int {
            guard let index = reference.resolve(in: header, columnCount: fieldCount) else {
                let available = header.map { "the header has " + $0.map { "\"\($0)\"" }.joined(separator: ", ") }
                    ?? "the file has \(fieldCount) columns and no header, so columns are named 1…\(fieldCount)"
                throw TransactionsError.invalidInput(
                    SourceLocation(file: path, line: linesConsumed + 1),
                    "no \(role) column \"\(reference.name)\": \(available)")
            }
            if let header {
                let same = header.indices.filter { header[$0] == header[index] }
                if same.count > 1 {
                    throw TransactionsError.invalidInput(
                        SourceLocation(file: path, line: linesConsumed + 1),
                        "the \(role) column name \"\(header[index])\" appears \(same.count) times (columns \(same.map { String($0 + 1) }.joined(separator: ", "))); rename one or choose the column by position")
                }
            }
            return index
        }
        let customer = try resolve(format.customerColumn, "customer")
        let date = try resolve(format.dateColumn, "date")
        let amount = try format.amountColumn.map { try resolve($0, "amount") }
        // One column in two roles reads dates as amounts (19970101 dollars) or ids as dates:
        // numbers that look fine and are wrong.
        let roles = [("customer", customer), ("date", date)] + (amount.map { [("amount", $0)] } ?? [])
        for (k, (role, index)) in roles.enumerated() {
            if let (other, _) = roles[..<k].first(where: { $0.1 == index }) {
                throw TransactionsError.invalidInput(
                    SourceLocation(file: path, line: linesConsumed + 1),
                    "column \(header.map { "\"\($0[index])\"" } ?? String(index + 1)) is chosen as both the \(other) and the \(role) column; each needs a column of its own")
            }
        }
        return ResolvedColumns(customer: customer, date: date, amount: amount, fieldCount: fieldCount, names: names)
    }

    /// Chooses the date layout from the first rows' dates (`DateFormat.Detection` says how,
    /// and what it refuses).
    private func detectDateFormat(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, lineOffset: Int, atEndOfInput: Bool) throws -> DateFormat? {
        guard let columns else { preconditionFailure("columns are resolved before dates are detected") }
        var scanner = RecordScanner(buffer, delimiter: format.delimiter, from: start)
        let fields = FieldBuffer()
        var detection = DateFormat.Detection()
        while !detection.isSettled {
            let outcome: ScanOutcome
            do {
                outcome = try scanner.next(fields, atEndOfInput: atEndOfInput)
            } catch {
                throw TransactionsError.invalidInput(SourceLocation(file: path, line: lineOffset + error.line), error.message)
            }
            if case .incomplete = outcome, detection.sampled == 0 { return nil }
            guard case .record(let line) = outcome else { break }
            guard columns.date < fields.count else { continue }
            let field = fields[columns.date]
            detection.add(buffer.baseAddress! + field.start, field.end - field.start, line: lineOffset + line) { scanner.quoted(field) }
        }
        return try detection.decide(path: path, column: columns.names[columns.date], hasHeader: format.hasHeader)
    }

    /// Parses the complete records of `buffer` from `start`; returns where the unfinished
    /// tail starts.
    mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, atEndOfInput: Bool) throws -> Int {
        guard let columns, let dateFormat else { return start }
        if !shapeSettled { settleShape(buffer, from: start, columns) }
        // Only the first record can be longer than a block (see `blockSize`), so only it is
        // measured, and only when the bytes could hold one too long.
        if buffer.count - start > TransactionLogReader.maximumRecordBytes {
            var scanner = RecordScanner(buffer, delimiter: format.delimiter, from: start)
            if case .record(let line)? = try? scanner.next(FieldBuffer(), atEndOfInput: atEndOfInput) {
                try checkLength(scanner, line: linesConsumed + line)
            }
        }
        let end = buffer.count
        var cuts = [start, end]
        let length = end - start
        if length >= TransactionLogReader.minimumSplitLength, memchr(buffer.baseAddress! + start, 0x22, length) == nil {
            // Cut after the first line feed past the middle; without quotes it ends a record.
            let middle = start + length / 2
            if let hit = memchr(buffer.baseAddress! + middle, 0x0A, end - middle) {
                let cut = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - buffer.baseAddress! + 1
                if cut < end { cuts = [start, cut, end] }
            }
        }
        let partCount = cuts.count - 1
        var parts = [PartResult?](repeating: nil, count: partCount)
        do {
            // The parser shares the hash index read-only; it must be gone before the merge
            // inserts, or the index would be copied on write.
            let parser = PartParser(columns: columns, dateFormat: dateFormat, delimiter: format.delimiter, policy: policy,
                                    numbered: numberedShape, known: customers)
            let boundaries = cuts
            parts.withUnsafeMutableBufferPointer { slots in
                parallelFor(partCount) { i in
                    let isLast = i == partCount - 1
                    let slice = UnsafeBufferPointer(start: buffer.baseAddress, count: boundaries[i + 1])
                    slots[i] = parser.parse(slice, from: boundaries[i], atEndOfInput: isLast ? atEndOfInput : true)
                }
            }
        }
        var consumed = start
        var maps: [[Int32]] = []
        for part in parts {
            guard let part else { continue }
            maps.append(try merge(part))
            consumed = part.consumedTo
        }
        // Key the hashed customers new to this block in the records, each part on its thread.
        parts.withUnsafeMutableBufferPointer { slots in
            parallelFor(partCount) { i in
                let map = maps[i]
                guard !map.isEmpty else { return }
                slots[i]!.records.withUnsafeMutableBufferPointer { records in
                    for k in records.indices where records[k].customer < 0 {
                        records[k].customer = map[Int(-records[k].customer - 1)]
                    }
                }
            }
        }
        for part in parts where !(part?.records.isEmpty ?? true) {
            recordChunks.append(part!.records)
        }
        return consumed
    }

    /// Chooses the numbered-id shape from the first data row's id: it only decides how ids
    /// are keyed while reading, never the result.
    private mutating func settleShape(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, _ columns: ResolvedColumns) {
        shapeSettled = true
        var scanner = RecordScanner(buffer, delimiter: format.delimiter, from: start)
        let fields = FieldBuffer(capacity: columns.fieldCount + 1)
        guard case .record = try? scanner.next(fields, atEndOfInput: true), columns.customer < fields.count else { return }
        let id = fields[columns.customer]
        guard !id.quoted else { return }
        numberedShape = NumberedIDShape(firstID: buffer.baseAddress! + id.start, id.end - id.start)
    }

    /// Takes in a part's counts, skipped rows and new customers; returns the key of each
    /// customer new to the part.
    private mutating func merge(_ part: PartResult) throws -> [Int32] {
        let base = linesConsumed
        if let error = part.error {
            throw TransactionsError.invalidInput(
                SourceLocation(file: path, line: base + error.line, column: error.column.map { columns!.names[$0] }),
                error.message)
        }
        skippedCount += part.skippedCount
        for row in part.skipped where skipped.count < TransactionLog.skippedRowsKept {
            skipped.append(SkippedRow(
                location: SourceLocation(file: path, line: base + row.line, column: row.column.map { columns!.names[$0] }),
                reason: row.message))
        }
        // Hashed customers new to this part were keyed -1, -2, … by the part; key them by the
        // reader's index (the other part may have met some of them first).
        var globalIndex = [Int32](repeating: 0, count: part.customers.count)
        part.customers.ids.bytes.withUnsafeBufferPointer { bytes in
            let offsets = part.customers.ids.offsets
            for j in 0..<globalIndex.count {
                let p = bytes.baseAddress! + offsets[j]
                let n = offsets[j + 1] - offsets[j]
                let hash = part.customers.storedHash(j)
                let found = customers.find(p, count: n, hash: hash)
                globalIndex[j] = CustomerKeys.hashedBase + (found >= 0 ? found : customers.insert(p, count: n, hash: hash))
            }
        }
        transactionCount += part.records.count
        minDay = min(minDay, part.minDay)
        maxDay = max(maxDay, part.maxDay)
        numberSpan = max(numberSpan, part.numberSpan)
        linesConsumed += part.linesConsumed
        return globalIndex
    }

    mutating func finish() throws -> TransactionLog {
        guard let dateFormat else {
            throw TransactionsError.invalidFile(path, "the file is empty")
        }
        guard transactionCount > 0 else {
            if skippedCount > 0 {
                throw TransactionsError.invalidFile(
                    path, "no valid transactions: all \(skippedCount) rows were bad; the first: \(skipped.first.map(\.description) ?? "")")
            }
            throw TransactionsError.invalidFile(path, "no transactions\(format.hasHeader ? " after the header" : "")")
        }
        let ids = CustomerKeys.renumber(&recordChunks, numberSpan: numberSpan, shape: numberedShape, hashed: customers.ids)
        return TransactionLog(
            customerIDs: ids, recordChunks: recordChunks, hasAmounts: format.amountColumn != nil,
            dateFormat: dateFormat, skippedCount: skippedCount, firstSkippedRows: skipped,
            firstDay: CalendarDay(daysSinceEpoch: Int(minDay)), lastDay: CalendarDay(daysSinceEpoch: Int(maxDay)))
    }
}

/// A problem found in one part, with its line relative to the part's start.
struct PartIssue {
    var line: Int
    var column: Int?
    var message: String
}

struct PartResult {
    var records: [TransactionRecord] = []
    var customers = CustomerIndex()
    var linesConsumed = 0
    var consumedTo = 0
    var error: PartIssue?
    var skippedCount = 0
    var skipped: [PartIssue] = []
    var minDay = Int32.max
    var maxDay = Int32.min
    /// One more than the largest id number keyed.
    var numberSpan = 0
}

/// Turns the records of one part of a block into transaction records. Runs on its own
/// thread with its own index of hashed customers, so it shares nothing mutable.
struct PartParser: Sendable {
    let columns: ResolvedColumns
    let dateFormat: DateFormat
    let delimiter: Delimiter
    let policy: BadRowPolicy
    let numbered: NumberedIDShape?
    /// The hashed customers of earlier blocks, looked up read-only; only those new to this
    /// block go into the part's own index, which keeps the merge after each block small.
    let known: CustomerIndex

    private static let lowestDay = Int32(CalendarDay.supportedRange.lowerBound.daysSinceEpoch)
    private static let highestDay = Int32(CalendarDay.supportedRange.upperBound.daysSinceEpoch)

    func parse(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, atEndOfInput: Bool) -> PartResult {
        var result = PartResult()
        result.records.reserveCapacity((buffer.count - start) / 20)
        var scanner = RecordScanner(buffer, delimiter: delimiter, from: start)
        let fields = FieldBuffer(capacity: columns.fieldCount + 1)
        let base = buffer.baseAddress!
        var previousStart = -1
        var previousLength = 0
        var previousCustomer: Int32 = 0
        var previousDateStart = 0
        var previousDateLength = -1
        var previousDay: Int32 = 0
        var unescaped: [UInt8] = []

        func bad(_ line: Int, _ column: Int?, _ message: String) -> Bool {
            let issue = PartIssue(line: line, column: column, message: message)
            if policy == .fail {
                result.error = issue
                return false
            }
            result.skippedCount += 1
            if result.skipped.count < TransactionLog.skippedRowsKept { result.skipped.append(issue) }
            return true
        }

        rows: while true {
            let line: Int
            if let plainLine = scanner.nextPlain(fields, fieldCount: columns.fieldCount) {
                line = plainLine
            } else {
                let outcome: ScanOutcome
                do {
                    outcome = try scanner.next(fields, atEndOfInput: atEndOfInput)
                } catch {
                    result.error = PartIssue(line: error.line, column: nil, message: error.message)
                    break rows
                }
                guard case .record(let recordLine) = outcome else { break rows }
                line = recordLine
            }
            if fields.count != columns.fieldCount {
                if bad(line, nil, "\(fields.count) fields, expected \(columns.fieldCount) like the first line") { continue }
                break rows
            }
            let idField = fields[columns.customer]
            let idStart = base + idField.start
            let idLength = idField.end - idField.start
            if idLength == 0 {
                if bad(line, columns.customer, "empty customer id") { continue }
                break rows
            }
            if idField.quoted {
                unescaped = scanner.bytes(idField)
            }
            let dateField = fields[columns.date]
            let dateLength = dateField.end - dateField.start
            let dayNumber: Int32
            // Logs repeat the same date row after row: reuse the last one's day when the text
            // is the same (a date is at most 32 bytes, compared in place).
            if dateLength == previousDateLength, dateLength <= 32,
               sameBytes(base + dateField.start, base + previousDateStart, dateLength) {
                dayNumber = previousDay
            } else {
                guard let day = dateFormat.parse(base + dateField.start, dateLength) else {
                    if bad(line, columns.date, "\(scanner.quoted(dateField)) is not a \(dateFormat.rawValue) date") { continue }
                    break rows
                }
                dayNumber = Int32(day.daysSinceEpoch)
                previousDateStart = dateField.start
                previousDateLength = dateLength
                previousDay = dayNumber
            }
            if dayNumber < PartParser.lowestDay || dayNumber > PartParser.highestDay {
                if bad(line, columns.date, "\(scanner.quoted(dateField)) is outside the supported dates \(CalendarDay.supportedRange.lowerBound)…\(CalendarDay.supportedRange.upperBound)") { continue }
                break rows
            }
            var amount = 0.0
            if let amountColumn = columns.amount {
                let field = fields[amountColumn]
                switch parseAmount(base + field.start, field.end - field.start) {
                case .value(let v):
                    amount = v
                    if abs(v) > TransactionLog.largestAmount {
                        if bad(line, amountColumn, "\(scanner.quoted(field)) is larger than 10^15 in magnitude, the largest amount a log may hold (sums of larger ones can pass the largest number)") { continue }
                        break rows
                    }
                case .notANumber:
                    if bad(line, amountColumn, "\(scanner.quoted(field)) is not a number") { continue }
                    break rows
                case .notFinite:
                    if bad(line, amountColumn, "\(scanner.quoted(field)) is not a finite amount") { continue }
                    break rows
                }
            }
            let customer: Int32
            if idField.quoted {
                customer = unescaped.withUnsafeBufferPointer { lookUp($0.baseAddress!, $0.count, &result) }
                previousStart = -1
            } else if let numbered, let number = numbered.number(idStart, idLength) {
                // Cheaper than comparing with the previous row's id.
                customer = key(number, &result)
            } else if previousStart >= 0, previousLength == idLength, sameBytes(base + previousStart, idStart, idLength) {
                customer = previousCustomer
            } else {
                customer = lookUp(idStart, idLength, &result)
                previousStart = customer == PartParser.notUTF8 ? -1 : idField.start
                previousLength = idLength
                previousCustomer = customer
            }
            if customer == PartParser.notUTF8 {
                let id = idField.quoted ? unescaped : Array(UnsafeBufferPointer(start: idStart, count: idLength))
                if bad(line, columns.customer, CustomerIDs.notUTF8Message(id)) { continue }
                break rows
            }
            result.records.append(TransactionRecord(customer: customer, day: dayNumber, amount: amount))
            if dayNumber < result.minDay { result.minDay = dayNumber }
            if dayNumber > result.maxDay { result.maxDay = dayNumber }
        }
        result.linesConsumed = scanner.linesConsumed
        result.consumedTo = scanner.position
        return result
    }

    /// The key of a numbered id (`CustomerKeys`).
    @inline(__always)
    private func key(_ number: Int, _ result: inout PartResult) -> Int32 {
        if number >= result.numberSpan { result.numberSpan = number + 1 }
        return Int32(number)
    }

    /// The customer's key (`CustomerKeys`), or -(local index + 1) for a hashed customer new
    /// to this block, or `notUTF8` for an id that is not UTF-8 (checked once per block, as it
    /// is first keyed: every id already keyed has passed).
    @inline(__always)
    private func lookUp(_ p: UnsafePointer<UInt8>, _ n: Int, _ result: inout PartResult) -> Int32 {
        if let numbered, let number = numbered.number(p, n) { return key(number, &result) }
        let hash = CustomerIndex.hash(p, n)
        let global = known.find(p, count: n, hash: hash)
        if global >= 0 { return CustomerKeys.hashedBase + global }
        let found = result.customers.find(p, count: n, hash: hash)
        if found >= 0 { return -found - 1 }
        guard CustomerIDs.isUTF8(p, n) else { return PartParser.notUTF8 }
        return -result.customers.insert(p, count: n, hash: hash) - 1
    }

    /// No key: -(local index + 1) never reaches it.
    static let notUTF8 = Int32.min
}

/// Whether two short byte strings are equal, eight bytes at a time: inline, where a call to
/// `memcmp` per row costs more than the comparison.
@inline(__always)
func sameBytes(_ p: UnsafePointer<UInt8>, _ q: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    let a = UnsafeRawPointer(p), b = UnsafeRawPointer(q)
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if p[i] != q[i] { return false }
        i += 1
    }
    return true
}
