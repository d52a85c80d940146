import Foundation
import Testing
@testable import Transactions

/// Summaries equal lifetimes' on every customer. The expected files were made once with
/// lifetimes in a throw-away virtual environment (Fixtures/README.md has the command).
@Suite struct LifetimesAgreementTests {
    /// Compares a summary with a lifetimes output file, customer by customer, by id.
    private func compare(_ summary: CustomerSummary, _ fixture: String, suffix: String = "",
                         holdout: Bool = false) throws -> [String] {
        let expected = try CSVTable(path: fixturePath(fixture))
        var mismatches: [String] = []
        if expected.rowCount != summary.count {
            mismatches.append("\(summary.count) customers, lifetimes has \(expected.rowCount)")
        }
        var row: [String: Int] = [:]
        for i in 0..<summary.count { row[summary.customerIDs[i]] = i }
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }
        let ids = expected.strings("customer_id")
        var columns: [(String, (Int) -> Double)] = []
        columns.append(("frequency" + suffix, { Double(summary.frequency[$0]) }))
        columns.append(("recency" + suffix, { summary.recency[$0] }))
        columns.append(("T" + suffix, { summary.T[$0] }))
        columns.append(("monetary_value" + suffix, { summary.monetaryValue![$0] }))
        if holdout {
            columns.append(("frequency_holdout", { Double(summary.holdout!.frequency[$0]) }))
            columns.append(("monetary_value_holdout", { summary.holdout!.monetaryValue![$0] }))
            columns.append(("duration_holdout", { _ in summary.holdout!.duration }))
        }
        for (name, value) in columns {
            let want = expected.numbers(name)
            #expect(want.count == ids.count, "column \(name) in \(fixture)")
            for (k, id) in ids.enumerated() {
                guard let i = row[id] else {
                    mismatches.append("customer \(id) missing")
                    continue
                }
                if !close(value(i), want[k]) { mismatches.append("\(id) \(name): \(value(i)) vs \(want[k])") }
            }
        }
        return mismatches
    }

    @Test(arguments: [(TimeUnit.weeks, "weeks"), (.days, "days")])
    func cdnowSampleCalibrationAndHoldoutEqualLifetimes(unit: TimeUnit, name: String) throws {
        let log = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_sample.txt"), format: cdnowSampleFormat)
        let summary = try CustomerSummary(log: log, options: SummaryOptions(
            unit: unit, calibrationEnd: day("1997-09-30"), observationEnd: day("1998-06-30")))
        let mismatches = try compare(summary, "cdnow_sample_calibration_holdout_\(name).csv", suffix: "_cal", holdout: true)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test(arguments: [(PeriodLength.day, "cdnow_master_summary_days.csv"),
                      (.week, "cdnow_master_summary_weekly_periods.csv")])
    func cdnowMasterSummaryEqualsLifetimes(period: PeriodLength, fixture: String) throws {
        let log = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_master.txt"), format: cdnowMasterFormat)
        let summary = try CustomerSummary(log: log, options: SummaryOptions(period: period, observationEnd: day("1998-06-30")))
        let mismatches = try compare(summary, fixture)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
