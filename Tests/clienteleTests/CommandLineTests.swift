import Foundation
import Testing

/// The command-line tool as a user meets it: exit status, one clear line on standard error,
/// and output files that appear whole or not at all.
@Suite struct CommandLineTests {
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The `clientele` binary built beside this test bundle.
    static let binary: URL = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("clientele")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return executable
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = Self.repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       standardOutput: String(decoding: outData, as: UTF8.self),
                       standardError: String(decoding: errData, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func summarizeWritesTheCDNOWCalibrationSummary() throws {
        let output = try temporaryDirectory().appendingPathComponent("summary.csv")
        let outcome = try run(["summarize", "datasets/cdnow/CDNOW_master.txt", "--delimiter", "whitespace",
                               "--amount-column", "dollar_value", "--unit", "weeks", "--calibration-end", "1997-09-30",
                               "--observation-end", "1998-06-30", "--output", output.path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.hasPrefix("23570 customers from 69659 transactions"))
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 23_571)
        #expect(lines[0] == "customer_id,frequency,recency,T,monetary_value,frequency_holdout,monetary_value_holdout,duration_holdout")
        #expect(lines[1].hasPrefix("00001,0,0.0,"))
    }

    @Test func badInputFailsWithOneLineAndLeavesTheOldOutputIntact() throws {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("tx.csv")
        try "customer_id,date,amount\n1,2024-01-01,5\n1,2024-13-01,5\n".write(to: log, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("summary.csv")
        try "previous result\n".write(to: output, atomically: true, encoding: .utf8)
        let outcome = try run(["summarize", log.path, "--amount-column", "amount", "--output", output.path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError == "Error: \(log.path):3: column \"date\": \"2024-13-01\" is not a yyyy-MM-dd date\n")
        #expect(try String(contentsOf: output, encoding: .utf8) == "previous result\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(leftovers == ["summary.csv", "tx.csv"])
    }

    @Test func skippedRowsAreCountedOnStandardError() throws {
        let directory = try temporaryDirectory()
        let log = directory.appendingPathComponent("tx.csv")
        try "customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-02,x\n2,2024-01-03,1\n".write(to: log, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("summary.csv")
        let outcome = try run(["summarize", log.path, "--amount-column", "amount", "--on-bad-row", "skip", "--output", output.path])
        #expect(outcome.status == 0)
        #expect(outcome.standardError.contains("skipped 1 bad rows; the first 1:\n  \(log.path):3: column \"amount\": \"x\" is not a number"))
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    @Test func invalidOptionsSayWhatToTypeInstead() throws {
        let outcome = try run(["summarize", "x.csv", "--delimiter", "pipe", "--output", "/tmp/never.csv"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("--delimiter must be one of: , tab ; whitespace (got \"pipe\")"))
    }

    @Test func doctorNamesTheLoadedBLAS() throws {
        let outcome = try run(["doctor"])
        #expect(outcome.status == 0)
        let lines = outcome.standardOutput.split(separator: "\n")
        #expect(lines.first?.hasPrefix("clientele ") == true)
        #expect(lines.contains { $0.hasPrefix("BLAS: OpenBLAS") || $0.hasPrefix("BLAS: reference BLAS") })
        #expect(lines.contains { $0.hasPrefix("LAPACK: /") })
        #expect(try run(["--version"]).standardOutput == "0.1.0\n")
    }

    @Test func simulateIsReproducible() throws {
        let directory = try temporaryDirectory()
        let a = directory.appendingPathComponent("a.csv"), b = directory.appendingPathComponent("b.csv")
        #expect(try run(["simulate", "--customers", "500", "--seed", "7", "--output", a.path]).status == 0)
        #expect(try run(["simulate", "--customers", "500", "--seed", "7", "--output", b.path]).status == 0)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        let summaryPath = directory.appendingPathComponent("s.csv").path
        #expect(try run(["summarize", a.path, "--amount-column", "amount", "--output", summaryPath]).status == 0)
        #expect(try String(contentsOfFile: summaryPath, encoding: .utf8).split(separator: "\n").count == 501)
    }
}
