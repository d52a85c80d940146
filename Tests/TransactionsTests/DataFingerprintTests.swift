import Foundation
import Testing
@testable import Transactions

/// The fingerprint a model file records of the data it was fitted on.
@Suite struct DataFingerprintTests {
    private struct Expected: Decodable {
        struct Summary: Decodable { var customers: Int, fingerprint: String }
        var cdnow_sample_calibration_weeks: Summary
        var retention_regular_years_0_7: String
        var retention_high_end_years_0_7: String
    }

    private func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath("fingerprints.json"))))
    }

    private func cdnowSampleSummary() throws -> CustomerSummary {
        let log = try TransactionLogReader.read(path: datasetPath("cdnow/CDNOW_sample.txt"), format: cdnowSampleFormat)
        return try CustomerSummary(log: log, options: SummaryOptions(
            unit: .weeks, calibrationEnd: day("1997-09-30"), observationEnd: day("1998-06-30")))
    }

    /// The fingerprints agree with an independent implementation of the documented layout
    /// (`Fixtures/fingerprint_fixture.py`, Python's hashlib and struct) on the CDNOW sample's
    /// calibration summary and on the retention table's two cohorts.
    @Test func fingerprintsFollowTheDocumentedLayout() throws {
        let expected = try expected()
        let summary = try cdnowSampleSummary()
        #expect(summary.count == expected.cdnow_sample_calibration_weeks.customers)
        #expect(summary.fingerprint == expected.cdnow_sample_calibration_weeks.fingerprint)
        let table = datasetPath("retention/fader_hardie_2007.csv")
        let regular = Array(try RetentionTable.read(path: table, column: "regular").prefix(8))
        let highEnd = Array(try RetentionTable.read(path: table, column: "high_end").prefix(8))
        #expect(RetentionTable.fingerprint(regular) == expected.retention_regular_years_0_7)
        #expect(RetentionTable.fingerprint(highEnd) == expected.retention_high_end_years_0_7)
    }

    /// A summary's fingerprint is of its values: its CSV read back, or written another way
    /// (CRLF, quoted ids, whole numbers without `.0`), gives the same one; a change of one
    /// value by one unit in the last place, or a column less, gives another.
    @Test func theFingerprintIsOfTheValuesNotTheText() throws {
        let summary = try cdnowSampleSummary()
        let text = String(decoding: summary.csvBytes(), as: UTF8.self)
        let readBack = try CustomerSummary.read(bytes: Array(text.utf8), path: "summary.csv", unit: .weeks)
        #expect(readBack.fingerprint == summary.fingerprint)
        let lines = text.split(separator: "\n").enumerated().map { n, line -> String in
            guard n > 0 else { return String(line) }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return (["\"\(fields[0])\""] + fields.dropFirst().map { $0.hasSuffix(".0") ? String($0.dropLast(2)) : String($0) })
                .joined(separator: ",")
        }
        let rewritten = lines.joined(separator: "\r\n") + "\r\n"
        #expect(rewritten != text)
        let reformatted = try CustomerSummary.read(bytes: Array(rewritten.utf8), path: "summary.csv", unit: .weeks)
        #expect(reformatted.fingerprint == summary.fingerprint)

        var nudged = summary
        nudged.recency[1_000] = nudged.recency[1_000].nextUp
        #expect(nudged.fingerprint != summary.fingerprint)
        var withoutHoldout = summary
        withoutHoldout.holdout = nil
        #expect(withoutHoldout.fingerprint != summary.fingerprint)
        var renamed = summary
        renamed.customerIDs = CustomerIDs(summary.customerIDs.enumerated().map { i, id in i == 0 ? id + "x" : id })
        #expect(renamed.fingerprint != summary.fingerprint)
    }
}
