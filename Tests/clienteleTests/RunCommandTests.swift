import Foundation
import Testing

/// `clientele run` and the worker's pipeline runner as users meet them: a job file with a
/// path relative to itself, one-line refusals with key paths, a result that is never
/// overwritten, and a job whose data turn bad after submission failing without retries.
extension CommandLineTests {
    /// A directory holding a copy of the CDNOW sample and a job file naming it relatively.
    func sampleJob(_ segmentation: String = #"{"k": 2, "nInit": 2}"#) throws -> (directory: URL, job: String) {
        let directory = try temporaryDirectory()
        let sample = Self.repositoryRoot.appendingPathComponent("datasets/cdnow/CDNOW_sample.txt")
        try FileManager.default.copyItem(at: sample, to: directory.appendingPathComponent("tx.txt"))
        let job = directory.appendingPathComponent("job.json").path
        try """
            {"name": "sample", "transactions": {"path": "tx.txt", "delimiter": "whitespace", "header": false,
                                                "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks", "calibrationEnd": "1997-09-30", "observationEnd": "1998-06-30"},
             "models": {"churnFolds": 0}, "segmentation": \(segmentation)}
            """.write(toFile: job, atomically: true, encoding: .utf8)
        return (directory, job)
    }

    @Test func runPublishesAResultAndNeverOverwritesOne() throws {
        let (directory, job) = try sampleJob()
        let output = directory.appendingPathComponent("result").path
        let first = try run(["run", job, "--output", output])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.hasPrefix("2357 customers, k = 2; read "))
        #expect(first.standardError.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
        #expect(files == ["assignments.csv", "job.json", "log.txt", "models", "profiles.csv", "profiles.json", "report.html"])

        let again = try run(["run", job, "--output", output])
        #expect(again.status != 0)
        #expect(again.standardError == "Error: \(output): already exists; choose a new result directory or remove this one\n")
    }

    /// A run stopped by SIGTERM or Ctrl-C takes its unpublished result with it: no hidden
    /// staging directory stays beside the output, and it says so.
    @Test func aStoppedRunLeavesNothingBehind() throws {
        for signal in [SIGTERM, SIGINT] {
            let (directory, job) = try sampleJob(#"{"k": "auto", "kRange": [2, 8], "nInit": 100}"#)
            let output = directory.appendingPathComponent("result").path
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = ["run", job, "--output", output]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let staging = ".result.partial-\(process.processIdentifier)"
            var staged = false
            for _ in 0..<600 where !staged {
                staged = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.contains(staging) ?? false
                if !staged { usleep(50_000) }
            }
            #expect(staged, "the run never staged its result")
            kill(process.processIdentifier, signal)
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 1)
            #expect(message.hasSuffix("clientele: stopped by a signal; \(output) was not published\n"), "\(message)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["job.json", "tx.txt"])
        }
    }

    /// `--output results/cdnow` (the help's example) in a directory without `results/`: the
    /// missing directories are made; one that cannot be is named as the user wrote it.
    @Test func runCreatesTheMissingDirectoriesAboveTheResult() throws {
        let (directory, job) = try sampleJob()
        let output = directory.appendingPathComponent("results/cdnow/").path
        let made = try run(["run", job, "--output", output])
        #expect(made.status == 0, "\(made.standardError)")
        #expect(FileManager.default.fileExists(atPath: "\(output)/profiles.json"))

        let underAFile = directory.appendingPathComponent("tx.txt/more/cdnow").path
        let refused = try run(["run", job, "--output", underAFile])
        #expect(refused.status != 0)
        #expect(refused.standardError == "Error: \(directory.appendingPathComponent("tx.txt").path)/: cannot create the directory for --output \(underAFile): it exists and is not a directory\n")
    }

    @Test func runRefusesABadJobInOneLineNamingTheKeyPath() throws {
        let (directory, job) = try sampleJob(#"{"k": "eight"}"#)
        let output = directory.appendingPathComponent("result").path
        let outcome = try run(["run", job, "--output", output])
        #expect(outcome.status != 0)
        #expect(outcome.standardError == "Error: \(job): segmentation.k: expected an integer 1…100 or \"auto\", got \"eight\"\n")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// A transaction log that is not a regular file (a FIFO nothing writes into) and a job
    /// file above 1 MiB (`/dev/zero` among them) are refused at once by `run` and `submit`,
    /// instead of hanging them or reading until memory runs out; a job piped in is read.
    @Test(.timeLimit(.minutes(1))) func runAndSubmitRefuseJobsAndLogsThatAreNotFiles() throws {
        let (directory, job) = try sampleJob()
        let fifoLog = directory.appendingPathComponent("pipe.csv").path
        #expect(mkfifo(fifoLog, 0o644) == 0)
        let onFIFO = directory.appendingPathComponent("on-fifo.json").path
        try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "\"tx.txt\"", with: "\"pipe.csv\"")
            .write(toFile: onFIFO, atomically: true, encoding: .utf8)
        let large = directory.appendingPathComponent("large.json").path
        try String(repeating: " ", count: 2_000_000).write(toFile: large, atomically: true, encoding: .utf8)
        let queue = directory.appendingPathComponent("queue").path
        let expected = [
            "/dev/zero": "Error: /dev/zero: is larger than 1048576 bytes; a job file may be at most 1048576 bytes\n",
            onFIFO: "Error: \(onFIFO): transactions.path: \(fifoLog) is a FIFO, not a regular file; a job reads its transaction log from a file (summarize reads pipes)\n",
            large: "Error: \(large): is 2000000 bytes; a job file may be at most 1048576 bytes\n",
        ]
        for (file, message) in expected {
            let output = directory.appendingPathComponent("result").path
            for arguments in [["run", file, "--output", output], ["submit", file, "--queue", queue]] {
                let outcome = try run(arguments)
                #expect(outcome.status == 1, "\(arguments)")
                #expect(outcome.standardError == message, "\(arguments)")
                #expect(outcome.standardOutput.isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: queue + "/incoming"))?.isEmpty ?? true)

        // A job file that is a pipe with a writer is read to its end, as from `run /dev/stdin`.
        let fifoJob = directory.appendingPathComponent("piped.json").path
        #expect(mkfifo(fifoJob, 0o644) == 0)
        let text = try String(contentsOfFile: job, encoding: .utf8)
        let writer = Thread {
            let fd = open(fifoJob, O_WRONLY)
            _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
            close(fd)
        }
        writer.start()
        let piped = try run(["run", fifoJob, "--output", directory.appendingPathComponent("piped").path])
        #expect(piped.status == 0, "\(piped.standardError)")

        // Through standard input, its relative paths are the current directory's: /dev's
        // used to be tried (`cannot read /dev/tx.txt`).
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["run", "/dev/stdin", "--output", directory.appendingPathComponent("stdin").path]
        process.currentDirectoryURL = directory
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(said)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("stdin/assignments.csv").path))
    }

    /// A run that fails removes the directories it made above its output: it leaves nothing.
    @Test func aFailedRunLeavesNoDirectoryItMade() throws {
        let (directory, job) = try sampleJob()
        let text = try String(contentsOfFile: job, encoding: .utf8).replacingOccurrences(of: "1997-09-30", with: "1999-09-30")
        try text.write(toFile: job, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("new/deeper/result").path
        let failed = try run(["run", job, "--output", output])
        #expect(failed.status == 1 && failed.standardError.contains("period.calibrationEnd"), "\(failed.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").path))
    }

    /// The sample job with `crm.database` set to `database`, submitted to a new queue beside it.
    func submittedSampleJob(database: String) throws -> (directory: URL, queue: String, id: String) {
        let (directory, job) = try sampleJob()
        var text = try String(contentsOfFile: job, encoding: .utf8)
        text = String(text.dropLast()) + #", "crm": {"database": "\#(database)"}}"#
        try text.write(toFile: job, atomically: true, encoding: .utf8)
        let queue = directory.appendingPathComponent("queue").path
        let submitted = try run(["submit", job, "--queue", queue])
        #expect(submitted.status == 0, "\(submitted.standardError)")
        return (directory, queue, submitted.standardOutput.trimmingCharacters(in: .newlines))
    }

    /// A queued job that names a CRM database is loaded into it by the worker, under its job
    /// id: exporting the published result by hand afterwards replaces that same run.
    @Test func theWorkerLoadsAJobThatNamesADatabaseIntoIt() throws {
        let (directory, queue, id) = try submittedSampleJob(database: "sqlite:crm.db")
        let worker = try run(["worker", "--queue", queue, "--drain"])
        #expect(worker.status == 0, "\(worker.standardError)")
        #expect(worker.standardError.contains("exported to the CRM database"))
        let database = directory.appendingPathComponent("crm.db").path
        #expect(FileManager.default.fileExists(atPath: database))
        let again = try run(["export", "\(queue)/done/\(id)", "--database", "sqlite:\(database)"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardOutput.hasPrefix("job \(id): 2 segments, 2357 customers"))
        #expect(again.standardOutput.hasSuffix("(replaced the earlier export)\n"))
    }

    /// A job whose CRM database cannot be loaded is retried, then failed as poison; no
    /// message sends the user to the staging directory the worker discarded.
    @Test func aJobWhoseDatabaseCannotBeLoadedIsPoisonedWithoutAPointerToItsStaging() throws {
        let (directory, queue, id) = try submittedSampleJob(database: "sqlite:notdb.txt")
        try "not a database\n".write(toFile: directory.appendingPathComponent("notdb.txt").path, atomically: true, encoding: .utf8)
        let worker = try run(["worker", "--queue", queue, "--drain", "--max-attempts", "2", "--retry-delay", "0.5"])
        #expect(worker.status == 0, "\(worker.standardError)")
        #expect(worker.standardError.contains("retry_in=0.5 s"), "\(worker.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(queue)/tmp").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(queue)/done/\(id)"))
        let report = try String(contentsOfFile: "\(queue)/failed/\(id)/error.json", encoding: .utf8)
        #expect(report.contains("\"kind\" : \"poison\""))
        #expect(report.contains("failed in each of its 2 attempts (the last: loading the result into sqlite:"))
        #expect(report.contains("this run's result was discarded"))
        let status = try run(["status", "--queue", queue, id])
        #expect(status.standardOutput.contains("loading the result into sqlite:"))
        for said in [report, status.standardOutput, worker.standardError] {
            #expect(!said.contains("\(queue)/tmp/"), "\(said)")
        }
    }

    /// A database that holds another job's run under the queued job's id refuses the load;
    /// no retry can change that, so the job fails at once as a job error.
    @Test func aJobWhoseIdIsTakenByAnotherJobInTheDatabaseFailsWithoutRetries() throws {
        let (directory, queue, id) = try submittedSampleJob(database: "sqlite:crm.db")
        let (_, other) = try sampleJob()
        try String(contentsOfFile: other, encoding: .utf8).replacingOccurrences(of: "\"sample\"", with: "\"another job\"")
            .write(toFile: other, atomically: true, encoding: .utf8)
        let taken = try temporaryDirectory().appendingPathComponent(id).path
        #expect(try run(["run", other, "--output", taken]).status == 0)
        let database = directory.appendingPathComponent("crm.db").path
        #expect(try run(["export", taken, "--database", "sqlite:\(database)"]).status == 0)
        let worker = try run(["worker", "--queue", queue, "--drain", "--max-attempts", "3"])
        #expect(worker.status == 0, "\(worker.standardError)")
        let report = try String(contentsOfFile: "\(queue)/failed/\(id)/error.json", encoding: .utf8)
        #expect(report.contains("\"kind\" : \"job-error\""))
        #expect(report.contains("\"attempt\" : 1"))
        #expect(report.contains("holds the run of another job, \\\"another job\\\""))
        #expect(!FileManager.default.fileExists(atPath: "\(queue)/done/\(id)"))
    }

    @Test func aJobWhoseDataAreBadFailsOnTheWorkerWithoutRetries() throws {
        let (directory, job) = try sampleJob()
        let queue = directory.appendingPathComponent("queue").path
        let submitted = try run(["submit", job, "--queue", queue])
        #expect(submitted.status == 0, "\(submitted.standardError)")
        let id = submitted.standardOutput.trimmingCharacters(in: .newlines)
        // The queued job names the log by its absolute path; the log turns bad after submission.
        let log = directory.appendingPathComponent("tx.txt").path
        try " 00001 0001 19970101  1   11.77\n 00002 0002 1997-01-02  1   12.00\n".write(toFile: log, atomically: true, encoding: .utf8)
        let worker = try run(["worker", "--queue", queue, "--drain"])
        #expect(worker.status == 0)
        let report = try String(contentsOfFile: "\(queue)/failed/\(id)/error.json", encoding: .utf8)
        #expect(report.contains("\"kind\" : \"job-error\""))
        #expect(report.contains("read: \(log):2: column \\\"3\\\": \\\"1997-01-02\\\" is not a yyyyMMdd date"))
        #expect(report.contains("\"attempt\" : 1"))
    }
}
