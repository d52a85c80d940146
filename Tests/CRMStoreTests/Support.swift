import CRMStore
import Foundation
import GRDB
import Simulation

/// A fresh temporary directory.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "clientele-crm-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A synthetic result directory named `jobID` (the job id) inside a new temporary directory.
func makeResult(jobID: String = "job-\(UUID().uuidString.prefix(8))", customers: Int = 200, segments: Int = 4,
                seed: UInt64 = 42, createdAt: String = "2026-11-30T09:00:00Z") throws -> String {
    let directory = try temporaryDirectory() + "/" + jobID
    try SyntheticResultDirectory(name: "test \(jobID)", customers: customers, segments: segments, seed: seed,
                                 createdAt: createdAt).write(to: directory)
    return directory
}

/// Removes the temporary directory that holds `path` (a result from `makeResult`, a database):
/// the large ones would otherwise fill the disk of a machine that runs the tests often.
func removeTemporaryDirectory(of path: String) {
    try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
}

/// Appends lines to a result file, as a bad row at its end.
func append(_ lines: String, to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(lines.utf8))
    try handle.close()
}

/// The lines of a result file, without its header.
func dataLines(_ path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map(String.init)
}

/// A CSV line's fields (quoted fields unquoted), read independently of CRMStore's reader.
func csvFields(_ line: String) -> [String] {
    var fields: [String] = [], current = "", quoted = false
    var characters = Array(line)[...]
    while let character = characters.popFirst() {
        if quoted {
            if character == "\"" {
                if characters.first == "\"" { current.append("\""); characters.removeFirst() } else { quoted = false }
            } else {
                current.append(character)
            }
        } else if character == "\"" {
            quoted = true
        } else if character == "," {
            fields.append(current)
            current = ""
        } else {
            current.append(character)
        }
    }
    return fields + [current]
}

/// Every row of the CRM tables of an SQLite export, one string each, in key order: what
/// "exactly the same rows" compares.
func sqliteRows(_ path: String) throws -> [String] {
    let queue = try DatabaseQueue(path: path)
    return try queue.read { (db: Database) throws in
        var rows = try String.fetchAll(db, sql: """
            SELECT json_array('run', id, job_id, name, created, clientele_version, job, models, k) FROM runs ORDER BY id
            """)
        rows += try String.fetchAll(db, sql: """
            SELECT json_array('segment', run_id, segment_id, label, size, share, share_of_clv, mean_p_alive, churn_rate,
                              total_clv, mean_clv, feature_statistics) FROM segments ORDER BY run_id, segment_id
            """)
        rows += try String.fetchAll(db, sql: """
            SELECT json_array('customer', run_id, customer_id, segment, label, frequency, recency, "T", monetary_value,
                              expected_purchases, p_alive, churn_probability, clv)
            FROM customer_segments ORDER BY run_id, customer_id
            """)
        return rows
    }
}

/// The `clientele` executable built beside the test bundle.
let clienteleBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("clientele").path

/// Starts `clientele export` in a child process, its output going to `output` (or nowhere).
func startExport(_ resultDirectory: String, database: String, options: [String] = [], output: Pipe? = nil) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: clienteleBinary)
    process.arguments = ["export", resultDirectory, "--database", database] + options
    process.standardOutput = output ?? FileHandle.nullDevice
    process.standardError = output ?? FileHandle.nullDevice
    try process.run()
    return process
}

/// Runs `clientele export` to its end: the exit status and what it printed.
func runExport(_ resultDirectory: String, database: String, options: [String] = []) throws -> (status: Int32, output: String) {
    let output = Pipe()
    let process = try startExport(resultDirectory, database: database, options: options, output: output)
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
}

/// A customer's row as `id|segment|label|frequency|…|clv`, each number as Swift prints the
/// double, NULL for none: the form in which a database's rows are compared with the file.
func customerLine(_ id: String, _ segment: Int, _ label: String, _ measures: [Double?]) -> String {
    ([id, String(segment), label] + measures.map { $0.map { "\($0)" } ?? "NULL" }).joined(separator: "|")
}

/// The assignments file's rows in that form, ordered by customer id, read with Swift's own
/// number parsing (`nan` and empty fields are NULL).
func expectedCustomerLines(_ result: String) throws -> [String] {
    try dataLines(result + "/assignments.csv").map(csvFields).map { fields in
        customerLine(fields[0], Int(fields[1])!, fields[2], fields[3...].map { Double($0).flatMap { $0.isNaN ? nil : $0 } })
    }.sorted()
}

/// The names of the measure columns, in the files' order.
let measureColumns = ["frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "churn_probability", "clv"]
