import Foundation
@testable import Transactions

/// The repository's root, found from this file's path, so tests read `datasets/` in place.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func datasetPath(_ relative: String) -> String {
    repositoryRoot.appendingPathComponent("datasets").appendingPathComponent(relative).path
}

func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// A file in a fresh temporary directory holding `text`.
func temporaryFile(_ text: String, name: String = "tx.csv") throws -> String {
    try temporaryFile(Array(text.utf8), name: name)
}

func temporaryFile(_ bytes: [UInt8], name: String = "tx.csv") throws -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("clientele-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// A small CSV table read into columns by header name, for comparing with fixtures.
struct CSVTable {
    var columns: [String: [String]] = [:]
    var rowCount = 0

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        for name in header { columns[name] = [] }
        for line in lines where !line.isEmpty {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for (name, field) in zip(header, fields) { columns[name]!.append(field) }
            rowCount += 1
        }
    }

    func strings(_ name: String) -> [String] { columns[name] ?? [] }
    func numbers(_ name: String) -> [Double] { strings(name).map { Double($0) ?? .nan } }
}

/// Reads a log written as text with the given format.
func readLog(_ text: String, _ format: TransactionLogFormat = TransactionLogFormat(amountColumn: ColumnReference("amount")),
             policy: BadRowPolicy = .fail) throws -> TransactionLog {
    try TransactionLogReader.read(path: try temporaryFile(text), format: format, onBadRow: policy)
}

/// The CDNOW sample's format: whitespace, no header, customer id in column 1.
let cdnowSampleFormat = TransactionLogFormat(
    delimiter: .whitespace, hasHeader: false, customerColumn: ColumnReference("1"),
    dateColumn: ColumnReference("3"), amountColumn: ColumnReference("5"), dateFormat: .compact)

let cdnowMasterFormat = TransactionLogFormat(
    delimiter: .whitespace, customerColumn: ColumnReference("customer_id"),
    dateColumn: ColumnReference("date"), amountColumn: ColumnReference("dollar_value"), dateFormat: .compact)

func day(_ text: String) -> CalendarDay { DateFormat.parseArgument(text)! }
