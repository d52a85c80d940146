import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import JobQueue
import Synchronization
import Testing

@Suite struct WorkerTests {
    @Test func aDrainingWorkerRunsEveryJobOnceAndExits() throws {
        let queue = try makeQueue()
        let ids = try (0..<25).map { try queue.submit(job($0)) }
        let runner = ScriptedRunner(.copy)
        let summary = drainingWorker(queue, runner).run()
        #expect(summary.done == 25)
        #expect(runner.runs.load(ordering: .relaxed) == 25)
        #expect(names(queue.done) == ids.sorted())
        for (number, id) in ids.enumerated() {
            #expect(contents("\(queue.done)/\(id)/job.json") == job(number))
        }
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    @Test func aJobErrorGoesToFailedWithItsLocationAndIsNotRetried() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let failure = JobFailure("models.horizon: expected a number, found \"soon\"",
                                 where: JobErrorLocation(file: "job.json", keyPath: "models.horizon"))
        let runner = ScriptedRunner(.jobFailure(failure))
        let summary = drainingWorker(queue, runner).run()
        #expect(runner.runs.load(ordering: .relaxed) == 1)
        #expect(summary.failed == 1 && summary.retried == 0)
        let report = try #require(errorReport(queue, id))
        #expect(report.kind == .jobError)
        #expect(report.what == failure.what)
        #expect(report.where == JobErrorLocation(file: "job.json", keyPath: "models.horizon"))
        #expect(report.attempt == 1)
        #expect(contents("\(queue.failed)/\(id)/job.json") == job(1))
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    @Test func aFaultIsRetriedUntilTheAttemptsRunOut() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let runner = ScriptedRunner(.fault("the CRM database is unreachable"))
        let summary = drainingWorker(queue, runner, maxAttempts: 3).run()
        #expect(runner.runs.load(ordering: .relaxed) == 3)
        #expect(summary.retried == 2 && summary.failed == 1, "\(summary)")
        let report = try #require(errorReport(queue, id))
        #expect(report.kind == .poison)
        #expect(report.attempt == 3)
        #expect(report.what == "failed in each of its 3 attempts (the last: the CRM database is unreachable)")
        #expect(report.history == ["attempt 1: the CRM database is unreachable", "attempt 2: the CRM database is unreachable"])
    }

    /// A fault of the moment (the CRM database down) is retried after `retryDelay`, doubled
    /// for each attempt after the first, not at once; the job waits in incoming/ with the time
    /// it is due, and a draining worker waits for it rather than calling the queue drained.
    @Test func aFaultIsRetriedAfterADelayThatDoublesAndTheDrainWaitsForIt() throws {
        final class TimedFaults: JobRunner {
            let starts = Mutex<[Double]>([])
            func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
                starts.withLock { $0.append(Date().timeIntervalSince1970) }
                throw ScriptedRunner.Fault(description: "the CRM database is unreachable")
            }
        }
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let runner = TimedFaults()
        let worker = Worker(queue: queue, concurrency: 2, runner: runner, pollInterval: 0.05, leaseTimeout: 30,
                            maxAttempts: 3, drain: true, gracePeriod: 5, retryDelay: 0.4, identity: .make())
        let summary = worker.run()
        let starts = runner.starts.withLock { $0 }
        #expect(starts.count == 3)
        #expect(summary.retried == 2 && summary.failed == 1, "\(summary)")
        if starts.count == 3 {
            #expect(starts[1] - starts[0] >= 0.4, "the second attempt came \(starts[1] - starts[0]) s after the first")
            #expect(starts[2] - starts[1] >= 0.8, "the third attempt came \(starts[2] - starts[1]) s after the second")
        }
        #expect(errorReport(queue, id)?.kind == .poison)
        #expect(Worker.retryDelay(30, afterAttempt: 1) == 30 && Worker.retryDelay(30, afterAttempt: 3) == 120)
        #expect(Worker.retryDelay(30, afterAttempt: 40) == Worker.maximumWait && Worker.retryDelay(0, afterAttempt: 2) == 0)
    }

    /// A job put back with a retry time is not a claim candidate until then.
    @Test func aJobWaitingForItsRetryIsNotClaimedBeforeIt() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let identity = WorkerIdentity.make()
        let claim = try #require(try queue.claim("\(id).json", as: identity))
        #expect(try queue.requeue(claim, attemptsCounted: 1, reason: "attempt 1: down", retryAt: Date().timeIntervalSince1970 + 3600,
                                  as: identity))
        let listing = try queue.listIncoming()
        #expect(listing.candidates.isEmpty && listing.waitingToRetry == 1)
        #expect(queue.readAttemptRecord(id)?.attempts == 1)

        let again = try #require(try queue.claim("\(id).json", as: identity), "a worker told to claim it by name may")
        #expect(try queue.requeue(again, attemptsCounted: 2, reason: "attempt 2: down", retryAt: nil, as: identity))
        #expect(try queue.listIncoming().candidates == ["\(id).json"])
    }

    /// A run whose job another worker took over (it judged the lease abandoned) and that then
    /// fails: nothing is put back, failed or counted as retried, and its heartbeat stops
    /// renewing once it learns of the loss.
    @Test func aRunThatLostItsLeaseLeavesTheJobToItsNewHolder() throws {
        final class TakenOver: JobRunner {
            let queue: JobQueue
            /// On another host, so that its lease is judged by its heartbeat alone.
            let other = remoteIdentity()
            init(_ queue: JobQueue) { self.queue = queue }
            func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
                var lease = try #require(queue.readLease(job.id))
                (lease.owner, lease.host, lease.bootID, lease.pid) = (other.owner, other.host, other.bootID, other.pid)
                lease.attempt += 1
                // Alive for the whole test, whatever this worker's recovery passes judge.
                lease.heartbeat = Date().timeIntervalSince1970 + 3600
                try Data(try QueueJSON.encode(lease)).write(to: URL(fileURLWithPath: queue.leasePath(job.id)))
                Thread.sleep(forTimeInterval: 0.3)
                throw ScriptedRunner.Fault(description: "cannot write: No such file or directory")
            }
        }
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let runner = TakenOver(queue)
        let worker = Worker(queue: queue, concurrency: 1, runner: runner, pollInterval: 0.05, leaseTimeout: 0.4,
                            maxAttempts: 3, drain: true, gracePeriod: 5, identity: .make())
        let (summary, returned) = run(worker, stoppingAfter: 20)
        #expect(returned)
        #expect(summary?.leasesLost == 1 && summary?.retried == 0 && summary?.failed == 0, "\(String(describing: summary))")
        #expect(queue.readLease(id)?.owner == runner.other.owner)
        #expect(names(queue.running) == ["\(id).json", "\(id).lease"])
        #expect(names(queue.incoming).isEmpty && names(queue.failed).isEmpty)
    }

    /// A job in running/ whose lease is empty (a power cut before it reached the disk): a
    /// draining worker does not call the queue drained while the job waits for recovery; it
    /// recovers the job once the lease is older than the timeout and runs it.
    @Test func aDrainingWorkerWaitsForAJobWithAnUnreadableLease() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        #expect(rename("\(queue.incoming)/\(id).json", queue.runningJob(id)) == 0)
        try Data().write(to: URL(fileURLWithPath: queue.leasePath(id)))
        let runner = ScriptedRunner(.copy)
        let worker = Worker(queue: queue, concurrency: 1, runner: runner, pollInterval: 0.05, leaseTimeout: 1,
                            maxAttempts: 3, drain: true, gracePeriod: 5, identity: .make())
        let (summary, returned) = run(worker, stoppingAfter: 30)
        #expect(returned)
        #expect(summary?.done == 1 && summary?.recovered == 1, "\(String(describing: summary))")
        #expect(names(queue.done) == [id])
        #expect(names(queue.running).isEmpty)
    }

    /// Malformed files among good ones (invalid JSON, a 1 GB file, a name trying `..`, a
    /// symbolic link out of the queue): each bad one ends in failed/ with its reason and the
    /// worker goes on to serve the good ones.
    @Test func malformedFilesFailWhileTheWorkerKeepsServing() throws {
        let queue = try makeQueue()
        let good = try queue.submit(job(1))
        try Data("{\"name\": ".utf8).write(to: URL(fileURLWithPath: queue.incoming + "/truncated.json"))
        #expect(FileManager.default.createFile(atPath: queue.incoming + "/huge.json", contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: queue.incoming + "/huge.json"))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        try Data(job(2)).write(to: URL(fileURLWithPath: queue.incoming + "/escape..%2F..%2Fetc.json"))
        try FileManager.default.createSymbolicLink(atPath: queue.incoming + "/link.json", withDestinationPath: "/etc/hostname")
        let runner = ValidatingRunner()
        let summary = drainingWorker(queue, runner).run()
        #expect(summary.done == 1 && summary.failed == 4)
        #expect(errorReport(queue, "link")?.what == "the job is not a regular file: it is a symbolic link")
        #expect(names(queue.done) == [good])
        #expect(errorReport(queue, "truncated")?.kind == .jobError)
        #expect(errorReport(queue, "huge")?.what == "the job file is 1073741824 bytes; a job file may be at most 1048576 bytes")
        let renamed = names(queue.failed).filter { !["huge", "link", "truncated"].contains($0) }
        try #require(renamed.count == 1)
        #expect(errorReport(queue, renamed[0])?.kind == .invalidJobFile)
        #expect(errorReport(queue, renamed[0])?.what.contains("\"escape..%2F..%2Fetc.json\"") == true)
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    /// A job error that names the job file as the runner saw it (running/<id>.json) names
    /// it where it is after the failure, failed/<id>/job.json: in error.json's location and
    /// in the reason that status shows.
    @Test func aJobErrorNamesTheJobFileWhereItIsAfterTheFailure() throws {
        let queue = try makeQueue()
        let id = try queue.submit(Array("[1, 2]\n".utf8))
        _ = drainingWorker(queue, ValidatingRunner()).run()
        let kept = "\(queue.failed)/\(id)/job.json"
        let report = try #require(errorReport(queue, id))
        #expect(report.where?.file == kept)
        #expect(report.what == "\(kept): not a JSON object")
        #expect(try queue.job(id).failure?.what == "\(kept): not a JSON object")
    }

    /// A job that recovery sends to failed/ as poison counts as failed in the summary.
    @Test func aPoisonJobOfRecoveryCountsAsFailed() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        _ = try #require(try queue.claim("\(id).json", as: .make(pid: try deadPid())))
        let summary = drainingWorker(queue, ScriptedRunner(.copy), maxAttempts: 1).run()
        #expect(errorReport(queue, id)?.kind == .poison)
        #expect(summary.failed == 1 && summary.recovered == 1, "\(summary)")
    }

    /// A runner that refuses anything but a JSON object, as the placeholder runner does.
    struct ValidatingRunner: JobRunner {
        func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
            guard (try? JSONSerialization.jsonObject(with: Data(job.bytes))) is [String: Any] else {
                throw JobFailure("\(job.path): not a JSON object", where: JobErrorLocation(file: job.path))
            }
            try Data(job.bytes).write(to: URL(fileURLWithPath: result + "/job.json"))
        }
    }

    @Test func statusListsJobsByStateWithAttemptsAndOwner() throws {
        let queue = try makeQueue()
        let waiting = try queue.submit(job(1))
        let held = try queue.submit(job(2))
        let holder = remoteIdentity()
        _ = try #require(try queue.claim("\(held).json", as: holder))
        let jobs = try queue.jobs()
        #expect(jobs.map(\.id) == [waiting, held])
        #expect(jobs.map(\.state) == [.incoming, .running])
        #expect(jobs[1].lease?.owner == holder.owner && jobs[1].attempts == 1)
        #expect(jobs.allSatisfy { $0.age >= 0 && $0.age < 3600 })
        #expect(throws: QueueError.invalidJobID("../etc")) { try queue.job("../etc") }
        #expect(throws: QueueError.unknownJob("nothing-here")) { try queue.job("nothing-here") }
    }


    /// A done job says which worker made its result and in which attempt (`lease.json` in
    /// the result): here the second, after a first run whose worker died.
    @Test func statusOfADoneJobNamesTheAttemptAndWorkerThatMadeItsResult() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let dead = WorkerIdentity.make(pid: try deadPid())
        _ = try #require(try queue.claim("\(id).json", as: dead))
        let identity = WorkerIdentity.make()
        let summary = drainingWorker(queue, ScriptedRunner(.copy), identity: identity).run()
        #expect(summary.done == 1 && summary.recovered == 1, "\(summary)")
        let done = try queue.job(id)
        #expect(done.state == .done && done.attempts == 2)
        #expect(done.lease?.owner == identity.owner && done.lease?.pid == identity.pid && done.lease?.host == identity.host)
        #expect(done.lease.map { $0.heartbeat >= $0.claimedAt && $0.history.count == 1 } == true)
        #expect(try queue.jobs().map(\.attempts) == [2])
    }

    /// Runs `worker` on a thread of its own until it returns or `seconds` pass; then it is
    /// stopped, so that a worker that would run on cannot hold the tests. The summary (nil if
    /// even the stop did not end it within as long again), and whether it returned by itself.
    func run(_ worker: Worker, stoppingAfter seconds: Double) -> (summary: Worker.Summary?, returned: Bool) {
        let finished = DispatchSemaphore(value: 0)
        let outcome = Mutex<Worker.Summary?>(nil)
        Thread.detachNewThread {
            let summary = worker.run()
            outcome.withLock { $0 = summary }
            finished.signal()
        }
        let returned = finished.wait(timeout: .now() + seconds) == .success
        if !returned {
            worker.stop()
            _ = finished.wait(timeout: .now() + seconds)
        }
        return (outcome.withLock { $0 }, returned)
    }

    /// An idle worker lists incoming/ once per look (a poll or an inotify batch), whatever its
    /// concurrency: its slots used to wake each other and list again and again, thousands of
    /// times a second from four slots up.
    @Test(arguments: [1, 4, 64])
    func anIdleWorkerListsIncomingOncePerLook(concurrency: Int) throws {
        let queue = try makeQueue()
        let worker = Worker(queue: queue, concurrency: concurrency, runner: ScriptedRunner(.copy), pollInterval: 0.1,
                            identity: .make())
        let (summary, returned) = run(worker, stoppingAfter: 1)
        #expect(!returned && summary != nil)
        let listings = worker.listings.load(ordering: .relaxed)
        #expect(worker.looksAsked >= 2)
        #expect(listings <= worker.looksAsked, "\(listings) listings for \(worker.looksAsked) looks")
    }

    /// A draining worker on an empty queue exits after a few looks, whatever its concurrency:
    /// with a thousand slots it used to run on for minutes, listing thousands of times, its
    /// slots never all at rest. (The drain looks again once a slot's listing that was under
    /// way as it checked has ended; hence a bound of a few.)
    @Test func aDrainingWorkerOnAnEmptyQueueExitsAtOnceWhateverItsConcurrency() throws {
        let queue = try makeQueue()
        let worker = Worker(queue: queue, concurrency: 1_000, runner: ScriptedRunner(.copy), pollInterval: 1,
                            drain: true, identity: .make())
        let (summary, returned) = run(worker, stoppingAfter: 60)
        #expect(returned)
        #expect(summary == Worker.Summary())
        #expect(worker.listings.load(ordering: .relaxed) <= 10)
    }

    /// A draining worker whose check falls while a slot is listing `incoming/` looks again
    /// when that listing ends, not at the next poll: with a poll a day away it used to wait for
    /// it, about one start in six (the CLI tests' largest accepted options hung so).
    @Test func aDrainingWorkerDoesNotWaitForTheNextPoll() throws {
        for attempt in 0..<24 {
            let queue = try makeQueue()
            let worker = Worker(queue: queue, concurrency: [1, 8, 1_000][attempt % 3], runner: ScriptedRunner(.copy),
                                pollInterval: 86_400, drain: true, identity: .make())
            let (summary, returned) = run(worker, stoppingAfter: 20)
            #expect(returned, "start \(attempt) waited for the next poll")
            #expect(summary == Worker.Summary())
        }
    }

    /// A FIFO, a directory and a symbolic link in incoming/: each is refused without being
    /// opened, ends in failed/ with what it is, and leaves nothing in running/. A FIFO used to
    /// hang the worker in open(2) while its failure was written.
    @Test func entriesThatAreNotRegularFilesAreRefusedWithoutBeingOpened() throws {
        let queue = try makeQueue()
        let good = try queue.submit(job(1))
        #expect(mkfifo(queue.incoming + "/fifo.json", 0o644) == 0)
        try FileManager.default.createDirectory(atPath: queue.incoming + "/adir.json", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: queue.incoming + "/link.json", withDestinationPath: "/etc/hostname")
        let worker = drainingWorker(queue, ScriptedRunner(.copy))
        let (summary, returned) = run(worker, stoppingAfter: 30)
        #expect(returned)
        #expect(summary?.done == 1 && summary?.failed == 3)
        #expect(names(queue.done) == [good])
        #expect(errorReport(queue, "fifo")?.what == "the job is not a regular file: it is a FIFO")
        #expect(errorReport(queue, "adir")?.what == "the job is not a regular file: it is a directory")
        #expect(errorReport(queue, "link")?.what == "the job is not a regular file: it is a symbolic link")
        #expect(QueueFileSystem.facts("\(queue.failed)/adir/job.json")?.isDirectory == true)
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    /// Reading a queue file never blocks: a FIFO is refused at once, not waited on.
    @Test func readingAFIFOIsRefusedAtOnce() throws {
        let queue = try makeQueue()
        let fifo = queue.running + "/x.lease"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: QueueError.fileSystem(fifo, "not a regular file: a FIFO")) {
            try QueueFileSystem.readFile(fifo, limit: 1 << 20)
        }
    }

    /// A draining worker that cannot claim because of the file system (here `running/` is no
    /// directory, so every claim's rename fails) stops with the reason after one try, rather
    /// than trying again at once, forever, and logging each time.
    @Test func aDrainingWorkerThatCannotClaimStopsWithTheReason() throws {
        let queue = try makeQueue()
        _ = try queue.submit(job(1))
        try FileManager.default.removeItem(atPath: queue.running)
        #expect(FileManager.default.createFile(atPath: queue.running, contents: Data()))
        let worker = drainingWorker(queue, ScriptedRunner(.copy))
        let (summary, returned) = run(worker, stoppingAfter: 30)
        #expect(returned)
        #expect(summary?.cannotClaim?.contains("Not a directory") == true, "\(String(describing: summary))")
        #expect(worker.listings.load(ordering: .relaxed) <= 3)
        #expect(names(queue.incoming).count == 1)
    }

    /// An entry whose own claim fails (an immutable file: the rename is not permitted) costs
    /// only its name: the job behind it runs, and the draining worker then stops non-zero
    /// with the reason, the entry left where it was.
    @Test func oneUnclaimableEntryDoesNotHoldUpTheJobsBehindIt() throws {
        let queue = try makeQueue()
        let stuck = try queue.submit(job(1))
        Thread.sleep(forTimeInterval: 0.02)
        let good = try queue.submit(job(2))
        let chattr = Process()
        chattr.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        chattr.arguments = ["+i", queue.incoming + "/\(stuck).json"]
        chattr.standardError = FileHandle.nullDevice
        guard (try? chattr.run()) != nil, ({ chattr.waitUntilExit(); return chattr.terminationStatus == 0 })() else {
            print("skipped: chattr +i is not available on this file system")
            return
        }
        defer {
            let undo = Process()
            undo.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
            undo.arguments = ["-i", queue.incoming + "/\(stuck).json"]
            try? undo.run()
            undo.waitUntilExit()
        }
        let worker = drainingWorker(queue, ScriptedRunner(.copy))
        let (summary, returned) = run(worker, stoppingAfter: 30)
        #expect(returned)
        #expect(summary?.done == 1, "\(String(describing: summary))")
        #expect(names(queue.done) == [good])
        #expect(summary?.cannotClaim?.contains("Operation not permitted") == true, "\(String(describing: summary))")
        #expect(names(queue.incoming) == ["\(stuck).json"])
    }
}
