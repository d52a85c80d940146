import Foundation
import Testing
@testable import Transactions

/// The CDNOW sample summarised as the BG/NBD paper did (days / 7, calibration to
/// 1997-09-30) must equal the paper's own summary file.
@Suite struct PublishedSummaryTests {
    @Test func cdnowSampleSummaryEqualsThePublishedCalibrationSummary() throws {
        var format = cdnowSampleFormat
        format.customerColumn = ColumnReference("2")
        let log = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_sample.txt"), format: format)
        let summary = try CustomerSummary(
            log: log, options: SummaryOptions(unit: .weeks, observationEnd: day("1997-09-30")))
        let published = try CSVTable(path: datasetPath("cdnow/cdnow_customers_summary_with_transactions.csv"))
        #expect(summary.count == published.rowCount)
        #expect(summary.count == 2357)
        var byID: [Int: Int] = [:]
        for i in 0..<summary.count { byID[Int(summary.customerIDs[i])!] = i }
        let ids = published.strings("ID").map { Int($0)! }
        let x = published.numbers("x"), tx = published.numbers("t_x"), T = published.numbers("T"), zbar = published.numbers("zbar")
        // The published file rounds to two decimals, so a difference of half a cent is rounding.
        let tolerance = 0.005 + 1e-9
        var mismatches: [String] = []
        for (row, id) in ids.enumerated() {
            guard let i = byID[id] else {
                mismatches.append("customer \(id) missing")
                continue
            }
            if Double(summary.frequency[i]) != x[row] { mismatches.append("\(id) frequency \(summary.frequency[i]) vs \(x[row])") }
            if abs(summary.recency[i] - tx[row]) > tolerance { mismatches.append("\(id) recency \(summary.recency[i]) vs \(tx[row])") }
            if abs(summary.T[i] - T[row]) > tolerance { mismatches.append("\(id) T \(summary.T[i]) vs \(T[row])") }
            if abs(summary.monetaryValue![i] - zbar[row]) > tolerance { mismatches.append("\(id) spend \(summary.monetaryValue![i]) vs \(zbar[row])") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
