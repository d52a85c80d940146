import Foundation
import LinearAlgebra
import Testing

/// `submit`, `worker` and `status` as separate processes on one queue directory: several
/// workers at once, signals, and a worker killed in the middle of a job.
@Suite struct QueueCommandTests {
    let cli = CommandLineTests()

    func makeQueue() throws -> String {
        try cli.temporaryDirectory().appendingPathComponent("queue").path
    }

    func names(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// A job that the pipeline runs in a moment: the CDNOW sample, BG/NBD only, RFM segments.
    func quickJob(_ name: String) -> String {
        let sample = CommandLineTests.repositoryRoot.appendingPathComponent("datasets/cdnow/CDNOW_sample.txt").path
        return """
            {"name": "\(name)", "transactions": {"path": "\(sample)", "delimiter": "whitespace", "header": false,
                                              "customer": 1, "date": 3, "amount": 5, "dateFormat": "yyyyMMdd"},
             "period": {"unit": "weeks"}, "models": {"spend": "none"}, "segmentation": {"method": "rfm"}}
            """
    }

    /// A worker in the background; its standard error is collected in a file.
    func startWorker(_ queue: String, _ extra: [String], environment: [String: String]? = nil) throws -> (Process, URL) {
        let log = URL(fileURLWithPath: queue + "-worker-\(UUID().uuidString).log")
        #expect(FileManager.default.createFile(atPath: log.path, contents: nil))
        let process = Process()
        process.executableURL = CommandLineTests.binary
        process.arguments = ["worker", "--queue", queue, "--poll-interval", "0.05"] + extra
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        if let environment { process.environment = environment }
        try process.run()
        return (process, log)
    }

    /// Waits (up to 20 s) until `condition` holds.
    func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<400 {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    func submit(_ queue: String, _ job: String) throws -> String {
        let outcome = try cli.run(["submit", job, "--queue", queue])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        return outcome.standardOutput.trimmingCharacters(in: .newlines)
    }

    @Test func submitRefusesInvalidJobFilesBeforeTheyEnterTheQueue() throws {
        let queue = try makeQueue()
        let directory = (queue as NSString).deletingLastPathComponent
        try write("{\n  \"name\": ,\n}\n", to: directory + "/broken.json")
        try write("[1, 2]\n", to: directory + "/list.json")
        #expect(FileManager.default.createFile(atPath: directory + "/huge.json", contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/huge.json"))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()

        let expected = [
            "broken.json": "Error: \(directory)/broken.json:2:11: not valid JSON: unexpected character ','; expected a value\n",
            "list.json": "Error: \(directory)/list.json: a job file must be a JSON object ({…}), got an array\n",
            "huge.json": "Error: \(directory)/huge.json: is 1073741824 bytes; a job file may be at most 1048576 bytes\n",
        ]
        for (name, message) in expected {
            let outcome = try cli.run(["submit", directory + "/" + name, "--queue", queue])
            #expect(outcome.status != 0)
            #expect(outcome.standardError == message)
            #expect(outcome.standardOutput.isEmpty)
        }
        // Within the limit as written, beyond it as it would be queued (defaults filled in):
        // the message says which size is meant.
        let long = quickJob(String(repeating: "n", count: (1 << 20) - quickJob("").utf8.count - 10))
        #expect(long.utf8.count <= 1 << 20)
        try write(long, to: directory + "/long.json")
        let grown = try cli.run(["submit", directory + "/long.json", "--queue", queue])
        #expect(grown.status != 0)
        #expect(grown.standardError.hasPrefix("Error: \(directory)/long.json: is "), "\(grown.standardError)")
        #expect(grown.standardError.hasSuffix(" bytes as it would enter the queue (defaults filled in, paths absolute); a queued job may be at most 1048576 bytes\n"))
        #expect(names(queue + "/incoming").isEmpty)
        #expect(names(queue + "/tmp").isEmpty)
    }

    @Test func aSubmittedJobRunsAndStatusShowsItsResultAndLog() throws {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("cdnow-q1-cohort"), to: job)
        let id = try submit(queue, job)
        #expect(names(queue + "/incoming") == ["\(id).json"])
        let listed = try cli.run(["status", "--queue", queue])
        #expect(listed.standardOutput.contains("incoming  0s         0         \(id)\n"))
        #expect(listed.standardOutput.hasSuffix("1 incoming, 0 running, 0 done, 0 failed\n"))

        let worker = try cli.run(["worker", "--queue", queue, "--drain"])
        #expect(worker.status == 0)
        #expect(worker.standardError.contains("job=\(id)"))
        let asRun = try String(contentsOfFile: "\(queue)/done/\(id)/job.json", encoding: .utf8)
        #expect(asRun.hasPrefix("{\n  \"name\": \"cdnow-q1-cohort\",\n") && asRun.contains("\"method\": \"rfm\""))
        #expect(FileManager.default.fileExists(atPath: "\(queue)/done/\(id)/report.html"))

        let shown = try cli.run(["status", "--queue", queue, id])
        #expect(shown.status == 0)
        #expect(shown.standardOutput.contains("state:    done\n"))
        #expect(shown.standardOutput.contains("result:   \(queue)/done/\(id)\n"))
        #expect(shown.standardOutput.contains("attempts: 1\n"))
        #expect(shown.standardOutput.contains(try #require(
            worker.standardError.firstMatch(of: /worker=([0-9a-f]+-[0-9]+-[0-9a-f]+)/)).output.1 + " (pid "))
        #expect(shown.standardOutput.contains(#/owner:    \S+ \(pid \d+ on .+\), finished \d+s ago\n/#))
        let listedDone = try cli.run(["status", "--queue", queue])
        let doneLine = try #require(listedDone.standardOutput.split(separator: "\n").first { $0.contains(id) })
        #expect(doneLine.hasPrefix("done ") && doneLine.contains(" 1         \(id)  ") && doneLine.contains(" (pid "), "\(doneLine)")
        #expect(shown.standardOutput.contains("  \(try String(contentsOfFile: "\(queue)/done/\(id)/log.txt", encoding: .utf8).split(separator: "\n").last!)\n"))

        let refused = try cli.run(["status", "--queue", queue, "../../etc/passwd"])
        #expect(refused.status != 0)
        #expect(refused.standardError.hasPrefix("Error: \"../../etc/passwd\" is not a job id"))
    }

    /// A job that fails on its data names the log's line and column in `error.json`; one whose
    /// setting fails on the data names the job file and the key path; both keep the run's
    /// `log.txt`, which `status ID` shows.
    @Test func aFailedJobsErrorNamesItsPlaceAndKeepsItsLog() throws {
        let queue = try makeQueue()
        let directory = (queue as NSString).deletingLastPathComponent
        var log = "customer_id,date,amount\n"
        for i in 0..<40 { log += "C\(i % 7),1997-0\(1 + i % 9)-1\(i % 10),\(10 + i)\n" }
        try write(log + "C1,1997-03-04,ten\n", to: directory + "/bad.csv")
        try write(log, to: directory + "/good.csv")
        let job = { (name: String, log: String, calibrationEnd: String) in
            "{\"name\": \"\(name)\", \"transactions\": {\"path\": \"\(log)\", \"amount\": \"amount\"}, \"period\": {\"unit\": \"weeks\", \"calibrationEnd\": \"\(calibrationEnd)\"}, \"models\": {\"spend\": \"none\"}, \"segmentation\": {\"method\": \"rfm\"}}"
        }
        try write(job("bad-row", "bad.csv", "1997-05-31"), to: directory + "/bad.json")
        try write(job("late-end", "good.csv", "1999-12-31"), to: directory + "/late.json")
        let badRow = try submit(queue, directory + "/bad.json"), lateEnd = try submit(queue, directory + "/late.json")
        let worker = try cli.run(["worker", "--queue", queue, "--drain"])
        #expect(worker.status == 0, "\(worker.standardError)")

        let bad = try String(contentsOfFile: "\(queue)/failed/\(badRow)/error.json", encoding: .utf8)
        #expect(bad.contains("\"file\" : \"\(directory)/bad.csv\"") && bad.contains("\"line\" : 42") && bad.contains("\"field\" : \"amount\""), "\(bad)")
        let late = try String(contentsOfFile: "\(queue)/failed/\(lateEnd)/error.json", encoding: .utf8)
        #expect(late.contains("\"keyPath\" : \"period.calibrationEnd\"") && late.contains("\"file\" : \"\(queue)/failed/\(lateEnd)/job.json\""), "\(late)")
        let lateLog = try String(contentsOfFile: "\(queue)/failed/\(lateEnd)/log.txt", encoding: .utf8)
        #expect(lateLog.contains("[read] ") && lateLog.contains("failed: summarize: period.calibrationEnd (1999-12-31)"), "\(lateLog)")
        #expect(try cli.run(["status", "--queue", queue, lateEnd]).standardOutput.contains("  failed: summarize: period.calibrationEnd"))
        #expect(FileManager.default.fileExists(atPath: "\(queue)/failed/\(badRow)/log.txt"))
    }

    /// A job put back after a failure of the moment shows when its next attempt is due and
    /// why the last one ended; a worker leaves it alone until then.
    @Test func statusShowsWhenAJobWaitingToRetryIsDue() throws {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("retry-later"), to: job)
        let id = try submit(queue, job)
        let due = Date().timeIntervalSince1970 + 600
        try write("{\"attempts\": 1, \"history\": [\"attempt 1: the CRM database is unreachable\"], \"retryAt\": \(due)}\n",
                  to: "\(queue)/incoming/\(id).attempts")
        let listed = try cli.run(["status", "--queue", queue])
        let line = try #require(listed.standardOutput.split(separator: "\n").first { $0.contains(id) })
        #expect(line.hasPrefix("incoming ") && line.hasSuffix("\(id)  retry in 10m00s"), "\(line)")
        let shown = try cli.run(["status", "--queue", queue, id])
        #expect(shown.standardOutput.contains("last run: attempt 1: the CRM database is unreachable\n"))
        #expect(shown.standardOutput.contains("retry:    in 10m00s\n"))
        let (worker, log) = try startWorker(queue, ["--drain", "--grace-period", "0"])
        Thread.sleep(forTimeInterval: 1.5)
        #expect(worker.isRunning, "a draining worker waits for the job's retry")
        worker.terminate()
        worker.waitUntilExit()
        #expect(worker.terminationStatus == 0)
        #expect(names(queue + "/incoming") == ["\(id).attempts", "\(id).json"], "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// A mistyped queue path is refused by `status`, not shown as an empty queue, and
    /// nothing is created there; a directory without the queue's directories is no queue.
    @Test func statusRefusesAPathThatIsNotAQueueAndCreatesNothing() throws {
        let queue = try makeQueue()
        let parent = (queue as NSString).deletingLastPathComponent
        for arguments in [["status", "--queue", queue], ["status", "--queue", queue, "20261130T084950.123456Z-1a2b3c4d-4242-1"]] {
            let outcome = try cli.run(arguments)
            #expect(outcome.status != 0)
            #expect(outcome.standardError == "Error: \(queue) is not a queue: no such directory\n")
            #expect(outcome.standardOutput.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: queue))
        }
        try FileManager.default.createDirectory(atPath: queue + "/done", withIntermediateDirectories: true)
        let partial = try cli.run(["status", "--queue", queue])
        #expect(partial.status != 0)
        #expect(partial.standardError == "Error: \(queue) is not a queue: it has no incoming/, running/, failed/, tmp/\n")
        #expect(names(queue) == ["done"])
        try write("not a queue\n", to: parent + "/notes.txt")
        let file = try cli.run(["status", "--queue", parent + "/notes.txt"])
        #expect(file.status != 0 && file.standardError == "Error: \(parent)/notes.txt is not a queue: not a directory\n")

        // submit still creates a queue, and status then reads it.
        let job = parent + "/job.json"
        try write(quickJob("new-queue"), to: job)
        let fresh = parent + "/fresh"
        let id = try submit(fresh, job)
        let listed = try cli.run(["status", "--queue", fresh])
        #expect(listed.status == 0 && listed.standardOutput.contains(id))
    }

    /// Three worker processes of two job threads each drain 40 jobs: every job is claimed
    /// by exactly one of them, and every one is done.
    @Test func severalWorkerProcessesClaimEachJobOnce() throws {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("tiny"), to: job)
        let ids = try (0..<40).map { _ in try submit(queue, job) }
        let workers = try (0..<3).map { _ in try startWorker(queue, ["--drain", "--concurrency", "2"]) }
        var claims: [String: Int] = [:]
        for (process, log) in workers {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") where line.hasSuffix("[JobQueue] claimed") {
                let id = try #require(line.split(separator: " ").first { $0.hasPrefix("job=") }).dropFirst(4)
                claims[String(id), default: 0] += 1
            }
        }
        #expect(claims.keys.sorted() == ids.sorted())
        #expect(claims.values.allSatisfy { $0 == 1 })
        #expect(names(queue + "/done") == ids.sorted())
        #expect(names(queue + "/running").isEmpty && names(queue + "/tmp").isEmpty && names(queue + "/incoming").isEmpty)
    }

    /// Submits one job, starts a worker whose jobs take `jobSeconds`, sends SIGTERM once the
    /// job is running, and checks that the worker exits 0. Returns the queue and the job id.
    func terminateWhileRunning(jobSeconds: String, grace: String) throws -> (queue: String, id: String, log: String) {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("interrupted"), to: job)
        let id = try submit(queue, job)
        let (worker, log) = try startWorker(queue, ["--simulate-job-seconds", jobSeconds, "--grace-period", grace])
        #expect(waitUntil { names(queue + "/running").contains("\(id).lease") })
        worker.terminate()
        worker.waitUntilExit()
        #expect(worker.terminationReason == .exit && worker.terminationStatus == 0)
        #expect(names(queue + "/running").isEmpty && names(queue + "/tmp").isEmpty)
        return (queue, id, try String(contentsOf: log, encoding: .utf8))
    }

    @Test func sigtermReleasesAJobThatCannotFinishWithoutCountingTheAttempt() throws {
        let (queue, id, log) = try terminateWhileRunning(jobSeconds: "60", grace: "0.3")
        #expect(names(queue + "/incoming") == ["\(id).json"])
        #expect(names(queue + "/done").isEmpty)
        #expect(log.contains("job=\(id) worker=") && log.contains("released at shutdown"))
    }

    @Test func sigtermLetsARunningJobFinishWithinTheGracePeriod() throws {
        let (queue, id, _) = try terminateWhileRunning(jobSeconds: "1", grace: "30")
        #expect(names(queue + "/done") == [id])
        #expect(names(queue + "/incoming").isEmpty)
    }

    /// SIGKILL in the middle of a job: the next worker on this host sees the lease's pid gone,
    /// puts the job back at once and runs it as attempt 2.
    @Test func aJobOfAKilledWorkerIsRecoveredAtOnceByTheNext() throws {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("interrupted"), to: job)
        let id = try submit(queue, job)
        let (victim, _) = try startWorker(queue, ["--simulate-job-seconds", "60"])
        #expect(waitUntil { names(queue + "/running").contains("\(id).lease") })
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(names(queue + "/running") == ["\(id).json", "\(id).lease"])

        let next = try cli.run(["worker", "--queue", queue, "--drain", "--lease-timeout", "3600"])
        #expect(next.status == 0)
        #expect(next.standardError.contains("is gone"))
        let log = try String(contentsOf: URL(fileURLWithPath: "\(queue)/done/\(id)/log.txt"), encoding: .utf8)
        #expect(log.hasPrefix("job \(id), attempt 2:"))
        #expect(names(queue + "/running").isEmpty && names(queue + "/tmp").isEmpty && names(queue + "/incoming").isEmpty)
    }

    /// A SIGTERM that comes as soon as the worker has opened its queue, before it serves,
    /// still stops it: the worker exits 0 instead of running on.
    @Test func aWorkerStoppedAsItStartsExits() throws {
        for _ in 0..<20 {
            let queue = try makeQueue()
            let (worker, _) = try startWorker(queue, [])
            // As soon as the directory is there, to hit the moment right after the opening.
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: queue + "/incoming"), Date() < deadline {}
            worker.terminate()
            #expect(waitUntil { !worker.isRunning }, "the worker ran on after SIGTERM")
            guard !worker.isRunning else {
                kill(worker.processIdentifier, SIGKILL)
                worker.waitUntilExit()
                return
            }
            #expect(worker.terminationReason == .exit && worker.terminationStatus == 0)
        }
    }

    /// Where OpenBLAS fell back to its generic kernels on a CPU with AVX2 or AVX-512, a worker
    /// starts itself again at once with `OPENBLAS_CORETYPE` naming better ones, under the same
    /// process id (its leases name it); a core type the environment names is left as it is.
    @Test func aWorkerAsksOpenBLASForKernelsThatFitItsCPU() throws {
        // What this process's OpenBLAS chose, unless its own environment chose for it.
        let inherited = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        let expected = BLASLibrary.betterCoreType(chosen: BLASLibrary.coreName, cpuFlags: BLASLibrary.cpuFlags, requested: nil)
        for given in (inherited == nil ? [nil, "Haswell"] : ["Haswell"]) as [String?] {
            let queue = try makeQueue()
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = given
            let (worker, _) = try startWorker(queue, [], environment: environment)
            /// The worker's environment as its current program started with it.
            func coreType() -> String? {
                guard let data = FileManager.default.contents(atPath: "/proc/\(worker.processIdentifier)/environ") else { return nil }
                return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    .first { $0.hasPrefix("OPENBLAS_CORETYPE=") }.map { String($0.dropFirst("OPENBLAS_CORETYPE=".count)) }
            }
            #expect(waitUntil { FileManager.default.fileExists(atPath: queue + "/incoming") && coreType() == (given ?? expected) },
                    "OPENBLAS_CORETYPE given \(given ?? "none"): \(coreType() ?? "none")")
            worker.terminate()
            worker.waitUntilExit()
            #expect(worker.terminationReason == .exit && worker.terminationStatus == 0)
        }
    }

    /// Numbers of seconds so large that a deadline's nanoseconds overflow used to crash the
    /// worker (SIGILL, no message); every numeric option now has a range, checked first.
    @Test func theWorkersNumericOptionsAreRefusedOutOfRange() throws {
        let queue = try makeQueue()
        let refusals = [
            (["--poll-interval", "1e10"], "Error: --poll-interval must be a positive number of seconds, at most 86400"),
            (["--grace-period", "1e10"], "Error: --grace-period must be 0 or more seconds, at most 86400"),
            (["--lease-timeout", "1e12"], "Error: --lease-timeout must be a positive number of seconds, at most 604800"),
            (["--max-attempts", "1000000000000"], "Error: --max-attempts must be from 1 to 1000"),
            (["--concurrency", "100000"], "Error: --concurrency must be from 1 to 1024"),
            (["--retry-delay", "-1"], "Error: --retry-delay must be 0 or more seconds, at most 86400"),
        ]
        for (options, message) in refusals {
            let outcome = try cli.run(["worker", "--queue", queue, "--drain"] + options)
            #expect(outcome.status == 64, "\(options)")
            #expect(outcome.standardError.hasPrefix(message), "\(outcome.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: queue))
        let largest = try cli.run(["worker", "--queue", queue, "--drain", "--poll-interval", "86400", "--grace-period", "86400",
                                   "--lease-timeout", "604800", "--max-attempts", "1000", "--retry-delay", "86400"])
        #expect(largest.status == 0, "\(largest.standardError)")
    }

    /// `worker --drain` on a queue it cannot claim from (its running/ is no directory, as a
    /// read-only mount would refuse the claim's rename) exits non-zero with the reason, after
    /// one line in the log; it used to try again at once, forever, logging every time.
    @Test func aDrainingWorkerThatCannotClaimExitsNonZeroWithTheReason() throws {
        let queue = try makeQueue()
        let job = (queue as NSString).deletingLastPathComponent + "/job.json"
        try write(quickJob("stuck"), to: job)
        _ = try submit(queue, job)
        try FileManager.default.removeItem(atPath: queue + "/running")
        try write("", to: queue + "/running")
        let (worker, log) = try startWorker(queue, ["--drain"])
        let exited = waitUntil { !worker.isRunning }
        if !exited { worker.terminate() }
        worker.waitUntilExit()
        #expect(exited)
        #expect(worker.terminationReason == .exit && worker.terminationStatus != 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("Error: the queue was not drained: \(queue)/incoming/"))
        #expect(text.contains("Not a directory"))
        #expect(text.components(separatedBy: "cannot claim").count - 1 <= 3)
    }
}
