import Foundation
import Testing
@testable import Transactions

/// Summary CSVs read back to what was written, and bad ones are refused where they are bad.
@Suite struct SummaryFileTests {
    @Test func aWrittenSummaryReadsBackTheSame() throws {
        let log = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_sample.txt"), format: cdnowSampleFormat)
        let summary = try CustomerSummary(log: log, options: SummaryOptions(
            unit: .weeks, calibrationEnd: day("1997-09-30"), observationEnd: day("1998-06-30")))
        let path = try temporaryFile("", name: "summary.csv")
        try summary.writeCSV(to: path)
        let back = try CustomerSummary.read(path: path, unit: .weeks)
        #expect(back.customerIDs == summary.customerIDs)
        #expect(back.frequency == summary.frequency && back.recency == summary.recency && back.T == summary.T)
        #expect(back.monetaryValue == summary.monetaryValue)
        #expect(back.holdout == summary.holdout)
    }

    /// An id with blanks around it, quoted in the log, is another customer than the id
    /// without them; written unquoted, the reader's trimming made the two one customer.
    @Test func idsWithBlanksAroundThemAreQuotedAndReadBackAsThemselves() throws {
        let log = try readLog("customer_id,date,amount\n\" C1 \",2024-01-01,3\nC1,2024-01-02,4\n\"\tC2\",2024-01-02,5\n")
        let summary = try CustomerSummary(log: log, options: SummaryOptions(unit: .days))
        let path = try temporaryFile("", name: "summary.csv")
        try summary.writeCSV(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\n\" C1 \",") && text.contains("\nC1,") && text.contains("\n\"\tC2\","))
        let back = try CustomerSummary.read(path: path, unit: .days)
        #expect(Array(back.customerIDs) == [" C1 ", "C1", "\tC2"])
    }

    @Test func lifetimesColumnNamesAreAccepted() throws {
        let path = try temporaryFile("ID,x,t_x,T,zbar\n1,2,30.43,38.86,22.35\n2,0,0,38.86,0\n", name: "s.csv")
        let summary = try CustomerSummary.read(path: path, unit: .weeks)
        #expect(summary.frequency == [2, 0])
        #expect(summary.monetaryValue == [22.35, 0])
    }

    /// The error of reading `text` as the summary `s.csv`, or "no error".
    private func failure(_ text: String) throws -> String {
        let path = try temporaryFile(text, name: "s.csv")
        do {
            _ = try CustomerSummary.read(path: path, unit: .days)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func badSummariesNameLineAndColumn() throws {
        #expect(try failure("customer_id,frequency,recency\n1,2,3\n").hasSuffix("s.csv:1: no \"T\" column: the header has \"customer_id\", \"frequency\", \"recency\""))
        #expect(try failure("customer_id,frequency,recency,T\n1,2.5,3,4\n").hasSuffix("s.csv:2: column \"frequency\": 2.5 is not a count (a whole number from 0 to 10¹⁵)"))
        #expect(try failure("customer_id,frequency,recency,T\n1,1e19,3,4\n").hasSuffix("s.csv:2: column \"frequency\": 1e+19 is not a count (a whole number from 0 to 10¹⁵)"))
        #expect(try failure("customer_id,frequency,recency,T\n1,1000000000000000,3,4\n") == "no error", "10¹⁵ itself is a count")
        #expect(try failure("customer_id,frequency,recency,T\n1,1000000000000001,3,4\n").hasSuffix("is not a count (a whole number from 0 to 10¹⁵)"))
        #expect(try failure("customer_id,frequency,recency,T\n1,2,NaN,4\n").hasSuffix("s.csv:2: column \"recency\": \"NaN\" is not a finite number"))
        // The holdout window has one length above 0, which the churn model's horizon is.
        let holdout = "customer_id,frequency,recency,T,frequency_holdout,duration_holdout\n"
        #expect(try failure(holdout + "1,2,3,4,1,-5\n").hasSuffix("s.csv:2: column \"duration_holdout\": -5.0: the holdout window's length must be above 0"))
        #expect(try failure(holdout + "1,2,3,4,1,0\n").hasSuffix("s.csv:2: column \"duration_holdout\": 0.0: the holdout window's length must be above 0"))
        #expect(try failure(holdout + "1,2,3,4,1,10\n2,0,0,4,0,10\n3,0,0,4,0,39\n").hasSuffix(
            "s.csv:4: column \"duration_holdout\": 39.0, where the rows above have 10.0: the holdout window has one length for every customer"))
        #expect(try failure("customer_id,frequency,recency,T\n").hasSuffix("s.csv: no customers after the header"))
        #expect(try failure("").hasSuffix("s.csv: the file is empty: expected a customer summary"))
    }

    /// A history that no purchase model can hold is refused where the reader still knows its
    /// line and customer, not later by the model with neither.
    @Test func inconsistentHistoriesNameLineAndCustomer() throws {
        let header = "customer_id,frequency,recency,T\n"
        #expect(try failure(header + "A,0,5,10\n").hasSuffix(
            "s.csv:2: customer \"A\": recency 5.0 with no repeat purchase: a customer of frequency 0 has recency 0"))
        #expect(try failure(header + "A,0,0,10\nB,2,11,10\n").hasSuffix(
            "s.csv:3: customer \"B\": recency 11.0 and T 10.0: need 0 ≤ recency ≤ T"))
        #expect(try failure("frequency,recency,periods,weights\n0,0,6,100\n0,2,6,3\n").hasSuffix(
            "s.csv:3: recency 2.0 with no repeat purchase: a customer of frequency 0 has recency 0"))
        // Repeat purchases with recency 0 (Pareto/NBD's likelihood trapped on it).
        #expect(try failure(header + "A,0,0,10\nB,1,0,0\n").hasSuffix(
            "s.csv:3: customer \"B\": frequency 1 with recency 0: a repeat purchase comes after the first, so its recency is above 0"))
    }

    /// A summary's id that is not UTF-8 is refused at its line, as the transaction log's is.
    @Test func anIDThatIsNotUTF8IsRefused() throws {
        let path = try temporaryFile(Array("customer_id,frequency,recency,T\nA,0,0,10\n".utf8) + [0x4A, 0x6F, 0xEB, 0x6C] + Array(",1,3,10\n".utf8), name: "s.csv")
        do {
            _ = try CustomerSummary.read(path: path, unit: .weeks)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasSuffix("s.csv:3: column \"customer_id\": customer id \"Jo\\xEBl\" is not UTF-8; convert the file first (for a Latin-1 file: iconv -f latin1 -t utf-8)"))
        }
    }

    /// A customer given twice would count twice in every fit and be written twice.
    @Test func aCustomerGivenTwiceIsRefusedAtItsSecondRow() throws {
        let header = "customer_id,frequency,recency,T\n"
        #expect(try failure(header + "A,0,0,10\nB,1,3,10\nA,2,5,10\n").hasSuffix("s.csv:4: customer \"A\" already has a row on line 2"))
        // Ids are compared as written: 007 and 7 are two customers.
        #expect(try failure(header + "007,0,0,10\n7,1,3,10\n") == "no error")
        // Ids are compared once every row is read, and the first error in the file still wins:
        // a repeated id before a bad number, a bad number before a repeated id, and a row
        // whose id is repeated and whose number is bad (its id is read first).
        #expect(try failure(header + "A,0,0,10\nA,1,3,10\nB,x,0,10\n").hasSuffix("s.csv:3: customer \"A\" already has a row on line 2"))
        #expect(try failure(header + "A,0,0,10\nB,x,0,10\nA,1,3,10\n").hasSuffix("s.csv:3: column \"frequency\": \"x\" is not a finite number"))
        #expect(try failure(header + "A,0,0,10\nA,x,0,10\n").hasSuffix("s.csv:3: customer \"A\" already has a row on line 2"))
        // A quoted id is the id with its quotes taken off ("" being "), as the writer quotes it.
        #expect(try failure(header + "\"A,1\",0,0,10\nB,1,3,10\n\"A,1\",2,5,10\n").hasSuffix("s.csv:4: customer \"A,1\" already has a row on line 2"))
        #expect(try failure(header + "\"A\",0,0,10\nA,1,3,10\n").hasSuffix("s.csv:3: customer \"A\" already has a row on line 2"))
        #expect(try failure(header + "\"say \"\"hi\"\"\",0,0,10\nB,1,3,10\n") == "no error")
        #expect(try failure(header + "\"say \"\"hi\"\"\",0,0,10\nB,1,3,10\n\"say \"\"hi\"\"\",0,0,10\n")
            .hasSuffix("s.csv:4: customer \"say \"hi\"\" already has a row on line 2"))
        // An empty id is an id; the last row of a file without a final line break is read whole.
        #expect(try failure(header + ",0,0,10\nB,1,3,10\n,0,0,10\n").hasSuffix("s.csv:4: customer \"\" already has a row on line 2"))
        #expect(try failure(header + "AB,0,0,10\nB,1,3,10\nAB,0,0,10").hasSuffix("s.csv:4: customer \"AB\" already has a row on line 2"))
        #expect(try failure(header + "AB,0,0,10\nB,1,3,10\nA,0,0,10") == "no error")
        // Far apart, among many: the lines are each row's own.
        let many = (1...300).map { "C\($0),0,0,10\n" }.joined()
        #expect(try failure(header + many + "C17,1,3,10\n").hasSuffix("s.csv:302: customer \"C17\" already has a row on line 18"))
    }

    /// Ids read straight from the file's bytes, quoted ones unquoted, come out as written,
    /// in file order.
    @Test func idsComeOutAsWrittenInFileOrder() throws {
        let text = "customer_id,frequency,recency,T\n" + (1...50).map { "C\($0),0,0,10\n" }.joined()
            + "\"x,\"\"y\"\"\",1,3,10\n" + "007,0,0,10\n"
        let path = try temporaryFile(Array(text.utf8), name: "s.csv")
        let summary = try CustomerSummary.read(path: path, unit: .weeks)
        #expect(Array(summary.customerIDs) == (1...50).map { "C\($0)" } + ["x,\"y\"", "007"])
        #expect(summary.frequency.count == 52 && summary.frequency[50] == 1)
    }
}
