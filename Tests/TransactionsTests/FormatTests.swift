import Foundation
import Testing
@testable import Transactions

/// The dialects of delimited text a transaction log comes in.
@Suite struct FormatTests {
    @Test func quotedFieldsHoldDelimitersQuotesAndLineBreaks() throws {
        let log = try readLog("customer_id,date,amount\n\"a,1\",2024-01-01,1\n\"b \"\"x\"\"\",2024-01-02,2\n\"c\nd\",2024-01-03,3\n\"a,1\",2024-01-04,4\n")
        #expect(Array(log.customerIDs) == ["a,1", "b \"x\"", "c\nd"])
        #expect(log.transactionCount == 4)
        let summary = try CustomerSummary(log: log)
        #expect(summary.frequency == [1, 0, 0])
        let csv = String(decoding: summary.csvBytes(), as: UTF8.self)
        #expect(csv.contains("\n\"a,1\",1,3.0,3.0,4.0\n\"b \"\"x\"\"\",0,0.0,2.0,0.0\n\"c\nd\",0,"))
    }

    @Test func crlfBomBlankLinesAndBlanksAroundFieldsAreTolerated() throws {
        let text = "\u{FEFF}customer_id , date, amount\r\n\r\n 00004 , 2024-01-01 , 1.5 \r\n\r\n00004,2024-01-09,2\r\n"
        let log = try readLog(text, TransactionLogFormat(customerColumn: ColumnReference("customer_id"), amountColumn: ColumnReference("amount")))
        #expect(Array(log.customerIDs) == ["00004"])
        let summary = try CustomerSummary(log: log)
        #expect(summary.frequency == [1])
        #expect(summary.recency == [8])
        #expect(summary.monetaryValue == [2])
    }

    @Test func tabSemicolonAndWhitespaceDelimiters() throws {
        for (delimiter, separator) in [(Delimiter.tab, "\t"), (.semicolon, ";"), (.whitespace, "   ")] {
            let text = ["customer_id", "date", "amount"].joined(separator: separator) + "\n"
                + ["7", "2024-01-01", "1"].joined(separator: separator) + "\n"
                + ["7", "2024-01-03", "5"].joined(separator: separator) + "\n"
            let log = try readLog(text, TransactionLogFormat(delimiter: delimiter, amountColumn: ColumnReference("amount")))
            let summary = try CustomerSummary(log: log)
            #expect(summary.frequency == [1], "\(delimiter)")
            #expect(summary.monetaryValue == [5], "\(delimiter)")
        }
    }

    @Test func withoutAHeaderColumnsAreNamedByPosition() throws {
        let format = TransactionLogFormat(delimiter: .whitespace, hasHeader: false, customerColumn: ColumnReference("2"),
                                          dateColumn: ColumnReference("1"), amountColumn: ColumnReference("3"))
        let log = try readLog("20240101 x 3\n20240105 x 4\n20240105 y 1\n", format)
        #expect(log.dateFormat == .compact)
        #expect(Array(log.customerIDs) == ["x", "y"])
        #expect(try CustomerSummary(log: log).T == [4, 0])
    }

    @Test func everyDateFormatParses() throws {
        let cases: [(String, DateFormat)] = [
            ("2024-03-05", .isoDate), ("20240305", .compact), ("2024-03-05 23:59:59", .isoDateTime),
            ("2024-03-05T10:00:00Z", .iso8601), ("2024-03-05T10:00:00.123+05:30", .iso8601),
            ("2024-03-05T23:00:00-0800", .iso8601), ("03/05/2024", .monthFirst), ("3/5/2024", .monthFirst),
            ("05/03/2024", .dayFirst),
        ]
        for (text, format) in cases {
            var bytes = Array(text.utf8)
            let parsed = bytes.withUnsafeMutableBufferPointer { format.parse($0.baseAddress!, $0.count) }
            #expect(parsed == CalendarDay(year: 2024, month: 3, day: 5), "\(text) as \(format.rawValue)")
        }
        for (text, format) in [("2024-03-05T25:00:00Z", DateFormat.iso8601), ("2024-03-05 10:61:00", .isoDateTime),
                               ("13/05/2024", .monthFirst), ("2024-3-5", .isoDate), ("2024-03-05T10:00:00+5", .iso8601)] {
            var bytes = Array(text.utf8)
            #expect(bytes.withUnsafeMutableBufferPointer { format.parse($0.baseAddress!, $0.count) } == nil, "\(text)")
        }
    }

    @Test func dateFormatIsDetectedWhenUnambiguous() throws {
        let log = try readLog("customer_id,date,amount\n1,2024-03-05T10:00:00Z,1\n")
        #expect(log.dateFormat == .iso8601)
        let dayFirst = try readLog("customer_id,date,amount\n1,05/03/2024,1\n1,25/03/2024,1\n")
        #expect(dayFirst.dateFormat == .dayFirst)
        #expect(dayFirst.firstDay == CalendarDay(year: 2024, month: 3, day: 5))
    }

    @Test func ambiguousSlashDatesAreRefused() {
        do {
            _ = try readLog("customer_id,date,amount\n1,05/03/2024,1\n1,06/04/2024,1\n")
            Issue.record("expected the ambiguity to be refused")
        } catch {
            #expect("\(error)".hasSuffix("tx.csv:2: column \"date\": the dates are ambiguous: values such as \"05/03/2024\" read as MM/dd/yyyy or dd/MM/yyyy and no day above 12 settles it; give the date format explicitly"))
        }
    }

    /// Dates in two layouts tie like ambiguous ones, but no layout reads them all: the error
    /// names the first date that breaks the layout of the dates before it, at its line.
    @Test func mixedDateLayoutsAreReportedAtTheFirstDateThatBreaksThem() {
        func detected(_ dates: [String]) -> String {
            var detection = DateFormat.Detection()
            for (i, date) in dates.enumerated() {
                var bytes = Array(date.utf8)
                bytes.withUnsafeMutableBufferPointer { detection.add($0.baseAddress!, $0.count, line: i + 2) { "\"\(date)\"" } }
            }
            do {
                return try detection.decide(path: "tx.csv", column: "date", hasHeader: true).rawValue
            } catch {
                return "\(error)"
            }
        }
        let tail = "like the dates before it, and no one date format reads every date; write them in one format or give the date format explicitly"
        #expect(detected(["2024-03-01", "03/25/2024"]) == "tx.csv:3: column \"date\": \"03/25/2024\" is not yyyy-MM-dd \(tail)")
        #expect(detected(["2024-03-01", "20240302"]) == "tx.csv:3: column \"date\": \"20240302\" is not yyyy-MM-dd \(tail)")
        #expect(detected(["2024-03-01", "2024-03-02T10:00:00Z"]) == "tx.csv:3: column \"date\": \"2024-03-02T10:00:00Z\" is not yyyy-MM-dd \(tail)")
        #expect(detected(["n/a", "2024-03-01 10:00:00", "2024-03-02"]) == "tx.csv:4: column \"date\": \"2024-03-02\" is not yyyy-MM-dd HH:mm:ss \(tail)")
        #expect(detected(["05/03/2024", "2024-03-01"]) == "tx.csv:3: column \"date\": \"2024-03-01\" is not MM/dd/yyyy or dd/MM/yyyy \(tail)")
        // The layout that reads the most still wins; the parser reports the rest row by row.
        #expect(detected(["2024-03-01", "2024-03-02", "03/25/2024"]) == "yyyy-MM-dd")
        // An ambiguous file is shown at its first readable date, not at a bad row before it.
        #expect(detected(["n/a", "05/03/2024", "06/04/2024"]).hasSuffix(
            "tx.csv:3: column \"date\": the dates are ambiguous: values such as \"05/03/2024\" read as MM/dd/yyyy or dd/MM/yyyy and no day above 12 settles it; give the date format explicitly"))
        #expect(detected(["05/03/2024", "06/04/2024", "n/a"]).hasSuffix("tx.csv:2: column \"date\": the dates are ambiguous: values such as \"05/03/2024\" read as MM/dd/yyyy or dd/MM/yyyy and no day above 12 settles it; give the date format explicitly"))
    }

    @Test func amountsParseExactly() {
        for text in ["0", "12", "-3.50", "+7.25", "1e3", "0.1", "123456789.123456789", "9007199254740993", ".5", "5."] {
            var bytes = Array(text.utf8)
            let parsed = bytes.withUnsafeMutableBufferPointer { parseAmount($0.baseAddress!, $0.count) }
            guard case .value(let value) = parsed else {
                Issue.record("\(text) did not parse")
                continue
            }
            #expect(value == Double(text.hasSuffix(".") ? text + "0" : (text.hasPrefix(".") ? "0" + text : text)), "\(text)")
        }
    }

    /// The reader cuts the file into blocks and each block into two halves; the summary must
    /// not depend on where the cuts fall.
    @Test func smallBlocksGiveTheSameSummaryAsOneBlock() throws {
        let path = datasetPath("cdnow/CDNOW_master.txt")
        let whole = try TransactionLogReader.read(path: path, format: cdnowMasterFormat)
        let cut = try TransactionLogReader.read(path: path, format: cdnowMasterFormat, onBadRow: .fail, blockSize: 70_001, progress: nil)
        #expect(whole.transactionCount == 69_659)
        #expect(cut.transactionCount == whole.transactionCount)
        let a = try CustomerSummary(log: whole), b = try CustomerSummary(log: cut)
        #expect(a.csvBytes() == b.csvBytes())
    }

    /// Rows rendered in chunks two at a time arrive whole and in order, whatever the chunk
    /// size.
    @Test func chunkedRenderingKeepsTheRowsInOrder() throws {
        for (rows, chunk) in [(0, 5), (1, 5), (10, 5), (11, 5), (100, 7), (100, 1000)] {
            var text: [UInt8] = []
            renderInOrder(rows: rows, chunkRows: chunk, render: { range, bytes in
                for i in range { bytes += Array("\(i)\n".utf8) }
            }, consume: { text += $0 })
            #expect(text == Array((0..<rows).map { "\($0)\n" }.joined().utf8), "\(rows) rows, chunks of \(chunk)")
        }
    }

    /// While one round of chunks is consumed the next is rendered; when consuming fails, the
    /// error comes out once the round in flight is done, and nothing is rendered after.
    @Test func chunkedRenderingStopsCleanlyWhenConsumingFails() {
        struct Full: Error {}
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
            func add() { lock.lock(); value += 1; lock.unlock() }
            var current: Int { lock.lock(); defer { lock.unlock() }; return value }
        }
        let rendered = Counter()
        var consumed = 0
        do {
            try renderInOrder(rows: 100, chunkRows: 5, render: { range, bytes in
                rendered.add()
                bytes = Array("\(range)\n".utf8)
            }, consume: { _ in
                consumed += 1
                if consumed == 3 { throw Full() }
            })
            Issue.record("expected the failure to come out")
        } catch {
            #expect(error is Full)
        }
        let atReturn = rendered.current
        Thread.sleep(forTimeInterval: 0.05)
        #expect(rendered.current == atReturn)
        // The first two rounds (4 chunks) were consumed up to the failure, the third in flight.
        #expect(atReturn == 6 && consumed == 3)
    }

    /// Numbers are written as Swift's `description` writes them, whichever way they take:
    /// whole numbers, weeks counted in days (d/7, from the table, and their neighbours, which
    /// must not be taken for them), negatives, and random doubles.
    @Test func numbersAreWrittenAsTheirDescription() {
        var values: [Double] = [0, -0.0, 1, -3, 1e15, 1e16, 0.1, -2.5, .ulpOfOne, 1e-300, 123456.789]
        for d in Array(1...8200) + [20000] {
            let week = Double(d) / 7
            values += [week, week.nextUp, week.nextDown, -week, Double(d) * (1 / 7.0)]
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            values.append(Double(bitPattern: random.next() & ~(0x7FF << 52) | (UInt64.random(in: 0x3C0...0x440, using: &random) << 52)))
            values.append(Double(Int.random(in: 1...60_000, using: &random)) / 7)
        }
        for value in values {
            var bytes: [UInt8] = []
            appendRendered(to: &bytes, capacity: TextCursor.longestNumber) { $0.put(number: value) }
            #expect(String(decoding: bytes, as: UTF8.self) == value.description, "\(value.bitPattern)")
        }
    }

    /// Rows rendered straight into a chunk are the file's rows: the id quoted where RFC 4180
    /// asks, the text fields of the row's group, each value as its description, and "nan" for
    /// a column that is missing.
    @Test func chunkRowsAreTheRowsOfTheFile() {
        let ids = CustomerIDs(["a,1", "b\"q", "c", "line\nbreak", "00042"])
        let labels = [["0", "Lost, long ago"], ["1", "Active \"lately\""]]
        let group = [1, 0, 1, 0, 0]
        let columns: [[Double]?] = [[1, 2.5, 77.85714285714286, -0.0, 1e-300], nil, [0.1, 3, 1.0 / 3, 12, .nan]]
        func quoted(_ field: String) -> String {
            guard field.contains(where: { ",\"\n\r".contains($0) }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        for rows in [0..<5, 1..<4, 2..<2] {
            let expected = rows.map { i in
                ([quoted(ids[i])] + labels[group[i]].map(quoted) + columns.map { $0.map { "\($0[i])" } ?? "nan" })
                    .joined(separator: ",") + "\n"
            }.joined()
            let rendered = CSVWriter.rows(rows, ids: ids, fields: labels.map(CSVWriter.TextFields.init), group: group, columns: columns)
            #expect(String(decoding: rendered, as: UTF8.self) == expected)
        }
    }

    /// Rows whose numbers repeat, rendered once per distinct row that several rows share and
    /// copied, are the rows rendered one by one; so are the rows alone in their group.
    @Test func repeatedNumbersAreCopiedAsRendered() {
        // Rows 0..<60,000 fall in 20,000 groups of three; rows 60,000..<70,000 are alone.
        let n = 70_000
        let ids = CustomerIDs((0..<n).map { "c\($0)" })
        let labels = [["0", "Lost"], ["1", "Active"]]
        let group = (0..<n).map { $0 % 2 }
        let distinct: [Int32] = (0..<n).map { (i: Int) -> Int32 in Int32(i < 60_000 ? (i * 7) % 20_000 : i - 40_000) }
        var first = [Int32](repeating: -1, count: 30_000), counts = [Double](repeating: 0, count: 30_000)
        for (i, g) in distinct.enumerated() {
            if first[Int(g)] < 0 { first[Int(g)] = Int32(i) }
            counts[Int(g)] += 1
        }
        let columns: [[Double]?] = [distinct.map { Double($0) / 7 }, nil, distinct.map { 1 / (Double($0) + 0.5) }]
        let repeated = CSVWriter.RepeatedNumbers(group: distinct, first: first, counts: counts, columns: columns)
        #expect(repeated.offsets.count == 20_001)
        let fields = labels.map(CSVWriter.TextFields.init)
        for rows in [0..<n, 17..<65_017, 5..<5] {
            #expect(CSVWriter.rows(rows, ids: ids, fields: fields, group: group, columns: columns, repeated: repeated)
                    == CSVWriter.rows(rows, ids: ids, fields: fields, group: group, columns: columns))
        }
    }

    /// A whole file of numbers rendered in chunks on every core, and rows rendered without
    /// text fields (`group` nil), are the bytes of `appendRow` row after row, across several
    /// chunks of 65,536 customers and with ids that need quoting.
    @Test func piecesAreTheRowsAppendedOneByOne() {
        let n = 140_000
        let ids = CustomerIDs((0..<n).map { $0 % 9_973 == 0 ? "c,\($0)" : "c\($0)" })
        let columns: [[Double]] = [(0..<n).map { Double($0) / 7 }, (0..<n).map { 1 / (Double($0) + 0.5) }]
        var writer = CSVWriter(columns: ["customer_id", "a", "b"], expectedRows: n)
        for i in 0..<n { writer.appendRow(ids, i, [columns[0][i], columns[1][i]]) }
        let pieces = CSVWriter.pieces(columns: ["customer_id", "a", "b"], ids: ids, values: columns)
        #expect(pieces.count == 4 && pieces.dropFirst().dropLast().allSatisfy { $0.count > 0 })
        #expect(Array(pieces.joined()) == writer.bytes)
        #expect(CSVWriter.pieces(columns: ["customer_id"], ids: CustomerIDs(), values: []) == [Array("customer_id\n".utf8)])
    }

    @Test func errorLinesAreRightInTheSecondHalfOfABlock() throws {
        var text = "customer_id,date,amount\n"
        for i in 0..<20_000 { text += "c\(i % 977),2024-01-\(String(format: "%02d", i % 28 + 1)),\(i)\n" }
        text += "c1,2024-01-01,x\n"
        do {
            _ = try readLog(text)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasSuffix("tx.csv:20002: column \"amount\": \"x\" is not a number"))
        }
    }
}
