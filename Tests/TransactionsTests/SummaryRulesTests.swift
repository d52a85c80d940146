import Foundation
import Testing
@testable import Transactions

/// The rules of a summary, each on a log small enough to work out by hand.
@Suite struct SummaryRulesTests {
    /// Customer a: 2024-01-01 (10 + 5 on the same day), 2024-01-08 (20), 2024-01-22 (40),
    /// 2024-02-05 (holdout, 7 + 3), 2024-02-06 (holdout, 11), 2024-02-20 (after observation end).
    /// Customer b: first purchase 2024-01-31 (after the calibration end: left out).
    private let log = """
        customer_id,date,amount
        a,2024-01-01,10
        a,2024-01-01,5
        a,2024-01-08,20
        b,2024-01-31,99
        a,2024-01-22,40
        a,2024-02-05,7
        a,2024-02-05,3
        a,2024-02-06,11
        a,2024-02-20,1000

        """

    @Test func samePeriodPurchasesCountOnceAndSumTheirValue() throws {
        let summary = try CustomerSummary(log: try readLog(log), options: SummaryOptions(observationEnd: day("2024-02-10")))
        #expect(Array(summary.customerIDs) == ["a", "b"])
        #expect(summary.frequency == [4, 0])
        #expect(summary.recency == [36, 0])
        #expect(summary.T == [40, 10])
        let repeatDays: [Double] = [20, 40, 10, 11]
        #expect(summary.monetaryValue == [repeatDays.reduce(0, +) / 4, 0])
        #expect(summary.holdout == nil)
    }

    @Test func calibrationAndHoldoutSplitAtTheCalibrationEnd() throws {
        let summary = try CustomerSummary(log: try readLog(log), options: SummaryOptions(
            unit: .weeks, calibrationEnd: day("2024-01-28"), observationEnd: day("2024-02-10")))
        #expect(Array(summary.customerIDs) == ["a"])
        #expect(summary.frequency == [2])
        #expect(summary.recency == [21.0 / 7])
        #expect(summary.T == [27.0 / 7])
        #expect(summary.monetaryValue == [30])
        // Two holdout days, three transactions: lifetimes averages the transactions.
        #expect(summary.holdout == CustomerSummary.Holdout(frequency: [2], monetaryValue: [7], duration: 13.0 / 7))
    }

    @Test func observationEndDefaultsToTheLastDay() throws {
        let summary = try CustomerSummary(log: try readLog(log))
        #expect(summary.T == [50, 20])
        #expect(summary.frequency == [5, 0])
    }

    @Test func weeklyPeriodsRunMondayToSunday() throws {
        // 2024-01-01 is a Monday; 2024-01-07 the Sunday of the same week.
        let text = "customer_id,date,amount\nw,2024-01-01,1\nw,2024-01-07,2\nw,2024-01-08,4\nw,2024-01-21,8\n"
        let weeks = try CustomerSummary(log: try readLog(text), options: SummaryOptions(period: .week, observationEnd: day("2024-01-31")))
        #expect(weeks.unit == .weeks)
        #expect(weeks.frequency == [2])
        #expect(weeks.recency == [2])
        #expect(weeks.T == [4])
        #expect(weeks.monetaryValue == [6])
        let inDays = try CustomerSummary(log: try readLog(text), options: SummaryOptions(period: .week, unit: .days, observationEnd: day("2024-01-31")))
        #expect(inDays.recency == [14])
    }

    @Test func monthlyPeriodsCountCalendarMonths() throws {
        let text = "customer_id,date,amount\nm,2024-01-31,1\nm,2024-02-01,2\nm,2024-02-29,3\nm,2024-05-15,4\n"
        let months = try CustomerSummary(log: try readLog(text), options: SummaryOptions(period: .month))
        #expect(months.unit == .months)
        #expect(months.frequency == [2])
        #expect(months.recency == [4])
        #expect(months.monetaryValue == [4.5])
    }

    @Test func refundsReduceTheirPeriodButNeverMakeOne() throws {
        let text = """
            customer_id,date,amount
            r,2024-01-01,50
            r,2024-01-05,30
            r,2024-01-05,-10
            r,2024-01-09,-5
            r,2024-01-12,40

            """
        let (summary, unmatched) = try CustomerSummary.summarize(try readLog(text))
        #expect(summary.frequency == [2])
        #expect(summary.monetaryValue == [30])
        #expect(summary.recency == [11])
        #expect(unmatched == 1)
    }

    @Test func aLogWithoutAmountsHasNoMonetaryColumns() throws {
        let log = try readLog("customer_id,date\n1,2024-01-01\n1,2024-01-02\n", TransactionLogFormat())
        let summary = try CustomerSummary(log: log, options: SummaryOptions(calibrationEnd: day("2024-01-01")))
        #expect(summary.monetaryValue == nil)
        #expect(summary.csvColumns == ["customer_id", "frequency", "recency", "T", "frequency_holdout", "duration_holdout"])
        #expect(summary.holdout?.frequency == [1])
    }

    /// A calibration end that leaves customers out: the kept ones (more than the threads
    /// share out one by one) get the numbers a log of only them gives.
    @Test func keptCustomersOfALargeLogGetTheirOwnNumbers() throws {
        let path = datasetPath("cdnow/CDNOW_master.txt")
        let options = SummaryOptions(unit: .weeks, calibrationEnd: day("1997-02-15"), observationEnd: day("1998-06-30"))
        let log = try TransactionLogReader.read(path: path, format: cdnowMasterFormat)
        let whole = try CustomerSummary(log: log, options: options)
        #expect(whole.count > 4096 && whole.count < log.customerIDs.count)
        let kept = Set(Array(whole.customerIDs))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").enumerated().filter { index, line in
            index == 0 || kept.contains(String(line.split(separator: " ")[0]))
        }.map(\.element)
        let alone = try CustomerSummary(log: try TransactionLogReader.read(
            path: try temporaryFile(lines.joined(separator: "\n") + "\n", name: "kept.txt"), format: cdnowMasterFormat), options: options)
        #expect(Array(alone.customerIDs) == Array(whole.customerIDs))
        #expect(alone.frequency == whole.frequency && alone.recency == whole.recency && alone.T == whole.T)
        #expect(alone.monetaryValue == whole.monetaryValue && alone.holdout == whole.holdout)
    }

    /// The fold states of a large job (a mapping of their own, given back huge page by huge
    /// page while the last summary's columns are gathered) give the same summaries as those of
    /// a smaller one (the heap's memory, kept to the end): on a log of 150,000 customers, whose
    /// states span several huge pages and more than one release.
    @Test func mappedAndHeapFoldsGiveTheSameSummaries() throws {
        var text = "customer_id,date,amount\n"
        var state: UInt64 = 42
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        // 1997-01-01 to 1998-06-24.
        let first = day("1997-01-01").daysSinceEpoch
        let dates = (0..<540).map { CalendarDay(daysSinceEpoch: first + $0).description }
        for customer in 0..<150_000 {
            for _ in 0...next(4) {
                text += "C\(customer),\(dates[Int(next(540))]),\(next(20_000)).\(next(100))\n"
            }
        }
        let log = try TransactionLogReader.read(path: try temporaryFile(text, name: "many.csv"),
                                                format: TransactionLogFormat(amountColumn: ColumnReference("amount")))
        let whole = SummaryOptions(unit: .weeks, observationEnd: day("1998-06-30"))
        var split = whole
        split.calibrationEnd = day("1997-12-31")
        let onHeap = try CustomerSummary.summaries(log, options: [whole, split]).summaries
        let mapped = try CustomerSummary.summaries(log, options: [whole, split], foldsMappedFrom: 0).summaries
        #expect(onHeap[1].count > 65_536)
        for (a, b) in zip(onHeap, mapped) {
            #expect(Array(a.customerIDs) == Array(b.customerIDs))
            #expect(a.frequency == b.frequency && a.recency == b.recency && a.T == b.T)
            #expect(a.monetaryValue == b.monetaryValue && a.holdout == b.holdout)
        }
    }

    /// Summaries made one after the other on shared fold states (as a job makes its whole
    /// history's and its calibration split's) equal each made alone: for a large log on two
    /// threads whose calibration end leaves customers out, and for logs out of date order.
    @Test func summariesOnSharedFoldsEqualEachMadeAlone() throws {
        func check(_ log: TransactionLog, _ options: [SummaryOptions]) throws {
            let shared = try CustomerSummary.summaries(log, options: options).summaries
            #expect(shared.count == options.count)
            for (summary, option) in zip(shared, options) {
                let alone = try CustomerSummary(log: log, options: option)
                #expect(Array(summary.customerIDs) == Array(alone.customerIDs))
                #expect(summary.frequency == alone.frequency && summary.recency == alone.recency && summary.T == alone.T)
                #expect(summary.monetaryValue == alone.monetaryValue && summary.holdout == alone.holdout)
                #expect(summary.unit == alone.unit)
            }
        }
        let master = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_master.txt"), format: cdnowMasterFormat)
        #expect(master.customerIDs.count > 4096)
        let whole = SummaryOptions(unit: .weeks, observationEnd: day("1998-06-30"))
        var split = whole
        split.calibrationEnd = day("1997-02-15")
        var monthly = split
        (monthly.period, monthly.unit) = (.month, .months)
        try check(master, [whole, split, monthly, whole])
        let rows = log.split(separator: "\n")
        let shuffled = try readLog(([rows[0]] + rows.dropFirst().reversed()).joined(separator: "\n") + "\n")
        try check(shuffled, [SummaryOptions(observationEnd: day("2024-02-10")),
                             SummaryOptions(calibrationEnd: day("2024-01-29"), observationEnd: day("2024-02-10"))])
    }

    @Test func noCustomerBeforeTheCalibrationEndIsAnError() throws {
        let log = try readLog("customer_id,date,amount\n1,2024-01-05,1\n")
        #expect(throws: TransactionsError.invalidOptions("no customer made a first purchase by 2024-01-01; the log runs from 2024-01-05 to 2024-01-05")) {
            try CustomerSummary(log: log, options: SummaryOptions(calibrationEnd: day("2024-01-01")))
        }
    }

    @Test func customersInterleavedAcrossBlocksAreGroupedInFirstAppearanceOrder() throws {
        var text = "customer_id,date,amount\n"
        for i in 0..<24_000 { text += "k\(i % 1000),2024-\(String(format: "%02d", i / 2000 + 1))-01,1\n" }
        let log = try TransactionLogReader.read(path: try temporaryFile(text), format: TransactionLogFormat(amountColumn: ColumnReference("amount")),
                                                onBadRow: .fail, blockSize: 50_000, progress: nil)
        #expect(log.customerIDs.count == 1000)
        #expect(log.customerIDs[0] == "k0" && log.customerIDs[999] == "k999")
        let summary = try CustomerSummary(log: log)
        // Every customer buys twice on the first of each of the 12 months: 11 repeat days of 2.
        #expect(Set(summary.frequency) == [11])
        #expect(Set(summary.monetaryValue!) == [2])
    }

    @Test func rowsOutOfDateOrderAreSummarizedAsIfSorted() throws {
        // The same rows last to first: a still comes before b.
        let rows = log.split(separator: "\n")
        let shuffled = ([rows[0]] + rows.dropFirst().reversed()).joined(separator: "\n") + "\n"
        let summary = try CustomerSummary(log: try readLog(shuffled), options: SummaryOptions(observationEnd: day("2024-02-10")))
        #expect(Array(summary.customerIDs) == ["a", "b"])
        #expect(summary.frequency == [4, 0])
        #expect(summary.recency == [36, 0])
        #expect(summary.T == [40, 10])
        #expect(summary.monetaryValue == [(20 + 40 + 10 + 11) / 4.0, 0])
    }

    /// 5,000 customers buying on the 1st and the 15th of January: the last one's rows come
    /// in reverse, which sends the summary (on two threads) to grouping and sorting.
    @Test func oneCustomerOutOfOrderAmongManyGivesTheSortedSummary() throws {
        var sorted = "customer_id,date,amount\n"
        for day in ["01", "15"] {
            for c in 0..<5000 { sorted += "c\(c),2024-01-\(day),\(c % 7 + 1).25\n" }
        }
        var lines = sorted.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.swapAt(5000, 10_000)
        let options = SummaryOptions(observationEnd: day("2024-01-31"))
        let expected = try CustomerSummary(log: try readLog(sorted), options: options)
        let summary = try CustomerSummary(log: try readLog(lines.joined(separator: "\n")), options: options)
        #expect(summary.frequency == expected.frequency && Set(summary.frequency) == [1])
        #expect(summary.recency == expected.recency && Set(summary.recency) == [14])
        #expect(summary.T == expected.T)
        #expect(summary.monetaryValue == expected.monetaryValue)
        #expect(summary.monetaryValue?[4999] == 2.25)
    }

    /// Numbered ids (the first id's shape) are keyed by their number, others by a hash table;
    /// both must give one customer per id, in order of first appearance, across blocks.
    @Test func numberedAndOtherIdsKeepOneCustomerEachInFirstAppearanceOrder() throws {
        let ids = ["C00000042", "C00000007", "vip-1", "C16777216", "\"C00000007\"", "C0000042", "C00000042", "C99999999", "vip-1", "C0000007x"]
        var text = "customer_id,date,amount\n"
        for month in 1...9 {
            for day in 10...28 {
                for _ in 0..<4 {
                    for id in ids { text += "\(id),2024-0\(month)-\(day),1\n" }
                }
            }
        }
        // Blocks of 100 kB are cut in two parts each, so ids meet in parts, blocks and merges.
        let log = try TransactionLogReader.read(path: try temporaryFile(text), format: TransactionLogFormat(amountColumn: ColumnReference("amount")),
                                                onBadRow: .fail, blockSize: 100_000, progress: nil)
        #expect(Array(log.customerIDs) == ["C00000042", "C00000007", "vip-1", "C16777216", "C0000042", "C99999999", "C0000007x"])
        let summary = try CustomerSummary(log: log)
        // 9 × 19 purchase days; 4 rows a day, 8 for the ids listed twice.
        #expect(summary.frequency == [170, 170, 170, 170, 170, 170, 170])
        #expect(summary.monetaryValue == [8, 8, 8, 4, 4, 4, 4])
    }
}
