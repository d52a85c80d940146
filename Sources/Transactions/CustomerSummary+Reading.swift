#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files

extension CustomerSummary {
    /// Reads a customer summary CSV as `clientele summarize` writes it (or lifetimes, with
    /// `frequency_cal`-style names accepted too): a header, then `customer_id`, `frequency`,
    /// `recency`, `T`, optionally `monetary_value` and the holdout columns. Grouped histories
    /// (BG/BB's `frequency,recency,periods,weights`) are read with `periods` as T and `weights`
    /// as the number of customers each row stands for. Durations are in
    /// `unit`, which the file itself does not record.
    ///
    /// Errors name the file, line and column: a missing column, a number that is not one,
    /// a fractional or negative frequency; and the file, line and customer of a history that
    /// is not one: recency beyond T, or a recency without a repeat purchase.
    public static func read(path: String, unit: TimeUnit) throws -> CustomerSummary {
        try read(bytes: try readWholeFile(path), path: path, unit: unit)
    }

    /// Like `read(path:unit:)`, for bytes already in memory; `path` names them in errors.
    public static func read(bytes: [UInt8], path: String, unit: TimeUnit) throws -> CustomerSummary {
        try bytes.withUnsafeBufferPointer { buffer in
            try parse(buffer, path: path, unit: unit)
        }
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>, path: String, unit: TimeUnit) throws -> CustomerSummary {
        var records = try HeaderedRecords(buffer, path: path, whenEmpty: "the file is empty: expected a customer summary")
        let header = records.header, fields = records.fields
        func column(_ names: [String], required: Bool) throws -> Int? {
            for name in names { if let index = header.firstIndex(of: name) { return index } }
            guard !required else {
                throw TransactionsError.invalidInput(
                    SourceLocation(file: path, line: 1),
                    "no \"\(names[0])\" column: the header has \(header.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            return nil
        }
        // Without an id column (grouped histories), rows are named by their 1-based number.
        let id = try column(["customer_id", "ID", "id"], required: false)
        let frequencyColumn = try column(["frequency", "frequency_cal", "x"], required: true)!
        let recencyColumn = try column(["recency", "recency_cal", "t_x"], required: true)!
        let tColumn = try column(["T", "T_cal", "periods"], required: true)!
        let weightColumn = try column(["weights", "weight"], required: false)
        let monetaryColumn = try column(["monetary_value", "monetary_value_cal", "zbar"], required: false)
        let holdoutFrequencyColumn = try column(["frequency_holdout"], required: false)
        let holdoutMonetaryColumn = try column(["monetary_value_holdout"], required: false)
        let durationColumn = try column(["duration_holdout"], required: false)

        // Each row's id, with its hash and line. A customer given twice (its purchases counted
        // twice by every fit, its row written twice) is refused at its second row, by
        // `duplicates` once the rows are read: knowing every id's hash, it asks for each one's
        // slot of the index ahead of time.
        var ids = CustomerIDs()
        var idHashes: [UInt64] = [], lines: [Int32] = []
        var frequency: [Int] = [], recency: [Double] = [], T: [Double] = []
        var monetary: [Double] = [], holdoutFrequency: [Int] = [], holdoutMonetary: [Double] = [], weights: [Double] = []
        var duration: Double?
        /// Refuses the first row whose id an earlier row has, among the rows with an id read.
        func duplicates() throws {
            guard id != nil, let (row, earlier) = ids.firstRepeat(hashes: idHashes) else { return }
            throw TransactionsError.invalidInput(SourceLocation(file: path, line: Int(lines[row])),
                                                 "customer \"\(ids[row])\" already has a row on line \(lines[earlier])")
        }
        do {
            while let line = try records.next() {
                func number(_ index: Int) throws -> Double {
                    let field = fields[index]
                    guard case .value(let value) = parseAmount(buffer.baseAddress! + field.start, field.end - field.start) else {
                        throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[index]),
                                                             "\(records.scanner.quoted(field)) is not a finite number")
                    }
                    return value
                }
                func count(_ index: Int) throws -> Int {
                    let value = try number(index)
                    guard value >= 0, value.rounded() == value, value <= 1e15 else {
                        throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[index]),
                                                             "\(value) is not a count (a whole number from 0 to 10¹⁵)")
                    }
                    return Int(value)
                }
                if let id {
                    // Checked and hashed as it is read; the index is made once every row is read.
                    try records.scanner.withBytes(fields[id]) { bytes in
                        try CustomerIDs.requireUTF8(bytes, at: SourceLocation(file: path, line: line, column: header[id]))
                        idHashes.append(CustomerIndex.hash(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, bytes.count))
                        ids.append(bytes)
                    }
                    lines.append(Int32(truncatingIfNeeded: line))
                } else {
                    ids.append(Array(String(frequency.count + 1).utf8))
                }
                let x = try count(frequencyColumn), tx = try number(recencyColumn), age = try number(tColumn)
                // Every purchase model takes these for granted, so a row that breaks them is
                // refused here, where its line and its customer are known.
                func inconsistent(_ what: String) -> TransactionsError {
                    let customer = id.map { "customer \"\(records.scanner.text(fields[$0]))\": " } ?? ""
                    return TransactionsError.invalidInput(SourceLocation(file: path, line: line), customer + what)
                }
                guard tx >= 0, age >= tx else { throw inconsistent("recency \(tx) and T \(age): need 0 ≤ recency ≤ T") }
                guard x > 0 || tx == 0 else {
                    throw inconsistent("recency \(tx) with no repeat purchase: a customer of frequency 0 has recency 0")
                }
                guard x == 0 || tx > 0 else {
                    throw inconsistent("frequency \(x) with recency 0: a repeat purchase comes after the first, so its recency is above 0")
                }
                frequency.append(x)
                recency.append(tx)
                T.append(age)
                if let monetaryColumn { monetary.append(try number(monetaryColumn)) }
                if let weightColumn { weights.append(Double(try count(weightColumn))) }
                if let holdoutFrequencyColumn { holdoutFrequency.append(try count(holdoutFrequencyColumn)) }
                if let holdoutMonetaryColumn { holdoutMonetary.append(try number(holdoutMonetaryColumn)) }
                if let durationColumn {
                    // One holdout window for every customer: its length is a property of the
                    // summary, which the churn horizon and the holdout checks take as one.
                    let value = try number(durationColumn)
                    let place = SourceLocation(file: path, line: line, column: header[durationColumn])
                    guard value > 0 else {
                        throw TransactionsError.invalidInput(place, "\(value): the holdout window's length must be above 0")
                    }
                    if let duration, value != duration {
                        throw TransactionsError.invalidInput(place, "\(value), where the rows above have \(duration): the holdout window has one length for every customer")
                    }
                    duration = value
                }
            }
        } catch {
            // A row whose id an earlier row has is refused before anything after it.
            try duplicates()
            throw error
        }
        guard !frequency.isEmpty else { throw TransactionsError.invalidFile(path, "no customers after the header") }
        try duplicates()
        let holdout = holdoutFrequencyColumn.map { _ in
            Holdout(frequency: holdoutFrequency, monetaryValue: holdoutMonetaryColumn == nil ? nil : holdoutMonetary,
                    duration: duration ?? 0)
        }
        var summary = CustomerSummary(customerIDs: ids, frequency: frequency, recency: recency, T: T,
                                      monetaryValue: monetaryColumn == nil ? nil : monetary, holdout: holdout, unit: unit)
        if weightColumn != nil { summary.weights = weights }
        return summary
    }
}

/// The whole file, for inputs (summaries, model files) that are read at once: a regular
/// file, or a pipe or character device named on the command line (`RegularFile`, streams
/// allowed), up to 16 GiB; a directory or a socket is refused.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    do throws(RegularFile.Failure) {
        return try RegularFile.existingContents(path, limit: 16 << 30, followingLinks: true, allowingStreams: true)
    } catch .cannotRead(let reason) {
        throw TransactionsError.invalidFile(path, "read failed: \(reason)")
    } catch {
        throw TransactionsError.invalidFile(path, "\(error)")
    }
}
