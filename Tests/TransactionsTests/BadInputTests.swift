import Foundation
import Testing
@testable import Transactions

/// Every kind of bad input gets one error that says where and what was expected.
@Suite struct BadInputTests {
    private func failure(_ text: String, _ format: TransactionLogFormat = TransactionLogFormat(amountColumn: ColumnReference("amount"))) -> String {
        do {
            _ = try readLog(text, format)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func emptyFileIsRefused() {
        #expect(failure("").hasSuffix("tx.csv: the file is empty: expected a header and transaction rows"))
        #expect(failure("\r\n\n  \n").contains("the file is empty"))
    }

    /// Dates in two layouts, neither of which reads them all, are refused where the layout
    /// breaks, not called ambiguous.
    @Test func mixedDateLayoutsNameTheFirstDateThatBreaksThem() {
        #expect(failure("customer_id,date,amount\nA,2024-03-01,1\nA,03/25/2024,2\n").hasSuffix(
            "tx.csv:3: column \"date\": \"03/25/2024\" is not yyyy-MM-dd like the dates before it, and no one date format reads every date; write them in one format or give the date format explicitly"))
        #expect(failure("customer_id,date,amount\nA,05/03/2024,1\nB,06/04/2024,2\n").contains("the dates are ambiguous"))
    }

    /// Dates that no layout reads are refused at the first of them, with the layouts tried.
    @Test func unreadableDatesNameTheFirstDateAndItsLine() {
        #expect(failure("customer_id,date,amount\nA,2020-31-01,1\nB,n/a,2\n").hasSuffix(
            "/tx.csv:2: column \"date\": cannot tell the date format: \"2020-31-01\" fits none of \(DateFormat.choices); give the format explicitly"))
        #expect(failure("customer_id,date,amount\n\nA,soon,1\n").contains("/tx.csv:3: column \"date\": cannot tell the date format: \"soon\""))
    }

    @Test func headerOnlyHasNoTransactions() {
        #expect(failure("customer_id,date,amount\n").hasSuffix("tx.csv: no transactions after the header"))
    }

    @Test func missingColumnNamesTheColumnsThatExist() {
        let message = failure("customer,date,amount\n1,2024-01-01,3\n")
        #expect(message.contains("tx.csv:1: no customer column \"customer_id\": the header has \"customer\", \"date\", \"amount\""))
    }

    /// One column for two roles would read dates as amounts: refused, by name or position.
    @Test func aColumnChosenForTwoRolesIsRefused() {
        let text = "customer_id,date,amount\n1,2024-01-01,3\n"
        #expect(failure(text, TransactionLogFormat(dateColumn: ColumnReference("date"), amountColumn: ColumnReference("date"))).hasSuffix(
            "tx.csv:1: column \"date\" is chosen as both the date and the amount column; each needs a column of its own"))
        #expect(failure(text, TransactionLogFormat(customerColumn: ColumnReference("1"), dateColumn: ColumnReference("2"), amountColumn: ColumnReference("1"))).hasSuffix(
            "tx.csv:1: column \"customer_id\" is chosen as both the customer and the amount column; each needs a column of its own"))
    }

    @Test func raggedRowNamesItsLine() {
        let message = failure("customer_id,date,amount\n1,2024-01-01,3\n2,2024-01-02\n")
        #expect(message.hasSuffix("tx.csv:3: 2 fields, expected 3 like the first line"))
    }

    @Test func unterminatedQuoteNamesTheLineItOpensOn() {
        let message = failure("customer_id,date,amount\n1,2024-01-01,3\n\"2,2024-01-02,4\n3,2024-01-03,5\n")
        #expect(message.hasSuffix("tx.csv:3: a quoted field is not closed before the end of the file"))
    }

    @Test func textAfterAClosingQuoteIsAnError() {
        #expect(failure("customer_id,date,amount\n\"1\"x,2024-01-01,3\n").hasSuffix("tx.csv:2: unexpected text after a closing quote"))
    }

    @Test func nonNumericNaNAndInfiniteAmountsAreRefused() {
        let header = "customer_id,date,amount\n"
        #expect(failure(header + "1,2024-01-01,12.5\n1,2024-01-02,abc\n").hasSuffix("tx.csv:3: column \"amount\": \"abc\" is not a number"))
        #expect(failure(header + "1,2024-01-01,NaN\n").hasSuffix("tx.csv:2: column \"amount\": \"NaN\" is not a finite amount"))
        #expect(failure(header + "1,2024-01-01,-inf\n").hasSuffix("tx.csv:2: column \"amount\": \"-inf\" is not a finite amount"))
        #expect(failure(header + "1,2024-01-01,1e999\n").hasSuffix("tx.csv:2: column \"amount\": \"1e999\" is not a finite amount"))
        #expect(failure(header + "1,2024-01-01,\n").hasSuffix("tx.csv:2: column \"amount\": \"\" is not a number"))
        #expect(failure(header + "1,2024-01-01,1,234.50\n").contains("4 fields, expected 3"))
    }

    /// Two amounts of 1e308 in one period added up to infinity, which `summarize` wrote as a
    /// monetary value of `inf`: an amount beyond 10^15 is refused where it stands.
    @Test func amountsBeyondAQuadrillionAreRefusedWhereTheyStand() throws {
        let header = "customer_id,date,amount\n"
        let tail = "is larger than 10^15 in magnitude, the largest amount a log may hold (sums of larger ones can pass the largest number)"
        #expect(failure(header + "A,2024-01-01,1\nA,2024-01-02,1e308\nA,2024-01-02,1e308\n")
                .hasSuffix("tx.csv:3: column \"amount\": \"1e308\" \(tail)"))
        #expect(failure(header + "A,2024-01-01,-2000000000000000\n").hasSuffix("tx.csv:2: column \"amount\": \"-2000000000000000\" \(tail)"))
        let log = try readLog(header + "A,2024-01-01,1000000000000000\nA,2024-01-02,-1e15\n", TransactionLogFormat(amountColumn: ColumnReference("amount")))
        #expect(log.transactionCount == 2)
    }

    /// A runaway value is quoted by its first 48 characters and its size, so a 1 MiB amount
    /// makes a one-line message; values of up to 64 bytes are quoted whole.
    @Test func longValuesAreCutWhereMessagesQuoteThem() throws {
        let header = "customer_id,date,amount\n"
        let huge = String(repeating: "9", count: 1 << 20) + "x"
        let message = failure(header + "1,2024-01-01,\(huge)\n")
        #expect(message.hasSuffix("tx.csv:2: column \"amount\": \"\(String(repeating: "9", count: 48))…\" (1048577 bytes) is not a number"))
        #expect(message.utf8.count < 200)
        let whole = String(repeating: "7", count: 63) + "x"
        #expect(failure(header + "1,2024-01-01,\(whole)\n").hasSuffix("column \"amount\": \"\(whole)\" is not a number"))
        #expect(failure(header + "1,2024-01-01,\(whole)7\n").hasSuffix("column \"amount\": \"\(whole.prefix(48))…\" (65 bytes) is not a number"))
        // In a quoted field each `""` is one byte of the value, and a cut never splits a character.
        let format = TransactionLogFormat(amountColumn: ColumnReference("amount"), dateFormat: .isoDate)
        let date = "\"" + String(repeating: "é\"\"", count: 40) + "\""
        #expect(failure(header + "1,\(date),5\n", format)
            .hasSuffix("tx.csv:2: column \"date\": \"\(String(repeating: "é\"", count: 24))…\" (120 bytes) is not a yyyy-MM-dd date"))
        // The summary reader quotes the same way.
        let summary = "customer_id,frequency,recency,T\nA,\(String(repeating: "1", count: 100))x,0,1\n"
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: "s.csv", line: 2, column: "frequency"),
                                                       "\"\(String(repeating: "1", count: 48))…\" (101 bytes) is not a finite number")) {
            try CustomerSummary.read(bytes: Array(summary.utf8), path: "s.csv", unit: .days)
        }
    }

    @Test func impossibleDatesAreRefusedWithTheFormat() {
        let format = TransactionLogFormat(amountColumn: ColumnReference("amount"), dateFormat: .isoDate)
        let header = "customer_id,date,amount\n"
        #expect(failure(header + "1,2024-01-01,1\n" + "7,2024-13-01,1\n", format)
            .hasSuffix("tx.csv:3: column \"date\": \"2024-13-01\" is not a yyyy-MM-dd date"))
        #expect(failure(header + "1,2023-02-29,1\n", format).hasSuffix("\"2023-02-29\" is not a yyyy-MM-dd date"))
        #expect(failure(header + "1,2024-04-31,1\n", format).hasSuffix("\"2024-04-31\" is not a yyyy-MM-dd date"))
        #expect(failure(header + "1,2024-02-29,1\n", format) == "no error")
    }

    @Test func datesOutsideTheSupportedRangeAreRefused() {
        let header = "customer_id,date,amount\n"
        #expect(failure(header + "1,1899-12-31,1\n").hasSuffix("tx.csv:2: column \"date\": \"1899-12-31\" is outside the supported dates 1900-01-01…2199-12-31"))
        #expect(failure(header + "1,9999-12-31,1\n").contains("\"9999-12-31\" is outside the supported dates"))
    }

    @Test func duplicateHeaderNamesOfAChosenColumnAreAmbiguous() {
        let message = failure("customer_id,date,amount,date\n1,2024-01-01,3,2024-01-02\n")
        #expect(message.hasSuffix("tx.csv:1: the date column name \"date\" appears 2 times (columns 2, 4); rename one or choose the column by position"))
        var byPosition = TransactionLogFormat(amountColumn: ColumnReference("amount"))
        byPosition.dateColumn = ColumnReference("4")
        #expect(failure("customer_id,date,amount,day\n1,2024-01-01,3,2024-01-02\n", byPosition) == "no error")
    }

    @Test func binaryFileIsRefused() throws {
        var bytes = Array("customer_id,date,amount\n1,2024-01-01,3\n".utf8)
        bytes += [0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0x0A]
        let path = try temporaryFile(bytes)
        #expect(throws: TransactionsError.invalidInput(SourceLocation(file: path, line: 3), "binary data (a NUL byte): this is not a text transaction log")) {
            try TransactionLogReader.read(path: path, format: TransactionLogFormat(amountColumn: ColumnReference("amount")))
        }
    }

    @Test func missingFileAndDirectoryAreRefused() throws {
        #expect(failureReading("/nonexistent/tx.csv").hasSuffix("/nonexistent/tx.csv: cannot open: No such file or directory"))
        #expect(failureReading(NSTemporaryDirectory()).contains("is a directory"))
    }

    private func failureReading(_ path: String) -> String {
        do {
            _ = try TransactionLogReader.read(path: path, format: TransactionLogFormat())
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    /// A 2 GB line is refused once it passes the record limit, without reading it all: the
    /// log comes through a FIFO whose writer would need minutes to send 2 GB.
    @Test func aTwoGigabyteLineIsRefusedEarly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fifo = directory.appendingPathComponent("long.csv").path
        #expect(mkfifo(fifo, 0o600) == 0)
        signal(SIGPIPE, SIG_IGN)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let header = Array("customer_id,date,amount\n".utf8)
            _ = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let block = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
            var sent = 0
            while sent < 2 << 30 {
                let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                sent += n
            }
        }
        writer.start()
        var message = "no error"
        do {
            _ = try TransactionLogReader.read(path: fifo, format: TransactionLogFormat(amountColumn: ColumnReference("amount")))
        } catch {
            message = "\(error)"
        }
        #expect(message.hasSuffix("long.csv:2: a line longer than 16 MiB: is the delimiter right, and is this a transaction log?"))
    }

    /// A line of exactly 16 MiB (its line end not counted) is read; one byte more is refused,
    /// wherever the line falls among the blocks the file is read in, with LF or CRLF.
    @Test func theLineLimitIsSixteenMiBExactly() throws {
        let limit = TransactionLogReader.maximumRecordBytes
        #expect(limit == 16 << 20)
        let format = TransactionLogFormat(amountColumn: ColumnReference("amount"))
        for (lineEnd, longRow) in [("\n", 2), ("\r\n", 2), ("\n", 1)] {
            for length in [limit - 1, limit, limit + 1, limit + (4 << 20)] {
                // Row `longRow` padded with blanks, which the reader trims, to `length` bytes.
                var bytes = Array("customer_id,date,amount\(lineEnd)".utf8)
                for row in 1...3 {
                    let text = Array("\(row),2024-01-0\(row),\(row)".utf8)
                    bytes += text + [UInt8](repeating: 0x20, count: row == longRow ? length - text.count : 0) + Array(lineEnd.utf8)
                }
                let path = try temporaryFile(bytes)
                defer { try? FileManager.default.removeItem(atPath: path) }
                for blockSize in [TransactionLogReader.blockSize, 3 << 20] {
                    let outcome = Result {
                        try TransactionLogReader.read(path: path, format: format, onBadRow: .fail, blockSize: blockSize, progress: nil)
                    }
                    switch outcome {
                    case .success(let log):
                        #expect(length <= limit, "a \(length)-byte line was read")
                        #expect(log.transactionCount == 3)
                    case .failure(let error):
                        #expect(length > limit, "\(error)")
                        #expect("\(error)".hasSuffix("tx.csv:\(longRow + 1): a line longer than 16 MiB: is the delimiter right, and is this a transaction log?"))
                    }
                }
            }
        }
    }

    @Test func skippingBadRowsCountsThemAndKeepsTheFirstTen() throws {
        var text = "customer_id,date,amount\n"
        for i in 0..<25 { text += "c\(i),2024-01-\(String(format: "%02d", i % 28 + 1)),\(i)\n" }
        for i in 0..<12 { text += "bad\(i),2024-02-30,1\n" }
        text += "c1,2024-03-01,oops\n"
        let log = try readLog(text, policy: .skip)
        #expect(log.transactionCount == 25)
        #expect(log.skippedCount == 13)
        #expect(log.firstSkippedRows.count == 10)
        #expect(log.firstSkippedRows.first?.description.hasSuffix("tx.csv:27: column \"date\": \"2024-02-30\" is not a yyyy-MM-dd date") == true)
    }

    /// An id in another encoding (Latin-1's é is the lone byte E9) is refused at its line and
    /// column, quoted or not, or skipped with the other bad rows; UTF-8 ids, ASCII or not,
    /// pass, and each refused id is checked again at every row that holds it.
    @Test func customerIDsThatAreNotUTF8AreRefusedWhereTheyAre() throws {
        let format = TransactionLogFormat(amountColumn: ColumnReference("amount"))
        func read(_ bytes: [UInt8], _ policy: BadRowPolicy = .fail) throws -> TransactionLog {
            try TransactionLogReader.read(path: try temporaryFile(bytes), format: format, onBadRow: policy)
        }
        let header = Array("customer_id,date,amount\nAlice,2024-01-01,3\n".utf8)
        let latin1 = header + Array("caf".utf8) + [0xE9] + Array(",2024-01-02,4\n".utf8)
        do {
            _ = try read(latin1)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasSuffix("tx.csv:3: column \"customer_id\": customer id \"caf\\xE9\" is not UTF-8; convert the file first (for a Latin-1 file: iconv -f latin1 -t utf-8)"))
        }
        let quoted = header + Array("\"b,".utf8) + [0xC3] + Array("\",2024-01-02,4\n".utf8)
        #expect(throws: TransactionsError.self) { try read(quoted) }
        let skipped = try read(latin1 + Array("caf".utf8) + [0xE9] + Array(",2024-01-03,5\n".utf8), .skip)
        #expect(skipped.transactionCount == 1 && skipped.skippedCount == 2)
        let utf8 = try read(header + Array("café,2024-01-02,4\nclient_0123456789_é,2024-01-03,5\n".utf8))
        #expect(Set(utf8.customerIDs) == ["Alice", "café", "client_0123456789_é"])
    }

    @Test func aLogWithOnlyBadRowsIsRefusedEvenWhenSkipping() {
        do {
            _ = try readLog("customer_id,date,amount\n1,2024-01-01,x\n2,2024-01-01,y\n", policy: .skip)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("no valid transactions: all 2 rows were bad"))
        }
    }

    @Test func calibrationEndAfterObservationEndIsRefused() throws {
        let log = try readLog("customer_id,date,amount\n1,2024-01-01,1\n")
        #expect(throws: TransactionsError.invalidOptions(
            "the calibration end 2024-02-01 must fall in an earlier day than the observation end 2024-01-15; the holdout window would be empty")) {
            try CustomerSummary(log: log, options: SummaryOptions(calibrationEnd: day("2024-02-01"), observationEnd: day("2024-01-15")))
        }
    }

    /// A holdout of no period: the calibration end on the log's last day (the default
    /// observation end), or in the observation end's week. Such a summary had holdout
    /// columns of length 0, with purchases in them for the days after the calibration end.
    @Test func anEmptyHoldoutWindowIsRefused() throws {
        let log = try readLog("customer_id,date,amount\n1,2024-01-01,1\n1,2024-01-10,2\n2,2024-01-12,3\n")
        #expect(throws: TransactionsError.invalidOptions(
            "the calibration end 2024-01-12 must fall in an earlier day than the log's last day, 2024-01-12; the holdout window would be empty")) {
            try CustomerSummary(log: log, options: SummaryOptions(calibrationEnd: day("2024-01-12")))
        }
        // 2024-01-08 is a Monday: the 9th and the 14th are in one week, the 7th in the one before.
        #expect(throws: TransactionsError.invalidOptions(
            "the calibration end 2024-01-09 must fall in an earlier week than the observation end 2024-01-14; the holdout window would be empty")) {
            try CustomerSummary(log: log, options: SummaryOptions(period: .week, calibrationEnd: day("2024-01-09"), observationEnd: day("2024-01-14")))
        }
        let summary = try CustomerSummary(log: log, options: SummaryOptions(period: .week, calibrationEnd: day("2024-01-07"), observationEnd: day("2024-01-14")))
        #expect(summary.holdout?.duration == 1)
        #expect(summary.holdout?.frequency == [1])
    }

    @Test func monthlyPeriodsInDaysAreRefused() throws {
        let log = try readLog("customer_id,date,amount\n1,2024-01-01,1\n")
        #expect(throws: TransactionsError.self) {
            try CustomerSummary(log: log, options: SummaryOptions(period: .month, unit: .days))
        }
    }
}
