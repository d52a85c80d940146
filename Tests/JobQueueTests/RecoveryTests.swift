import Foundation
@testable import JobQueue
import Synchronization
import Testing

@Suite struct RecoveryTests {
    let patient = RecoveryPolicy(leaseTimeout: 3600, maxAttempts: 3)

    /// Backdates a lease's heartbeat and its file's mtime by `seconds`, as if its holder had
    /// fallen silent that long ago.
    func age(_ queue: JobQueue, lease id: String, by seconds: Double) throws {
        var lease = try #require(queue.readLease(id))
        lease.heartbeat -= seconds
        try Data(try QueueJSON.encode(lease)).write(to: URL(fileURLWithPath: queue.leasePath(id)))
        let then = Date(timeIntervalSinceNow: -seconds)
        try FileManager.default.setAttributes([.modificationDate: then], ofItemAtPath: queue.leasePath(id))
    }

    @Test func aLeaseOfADeadPidOnThisHostIsRecoveredAtOnce() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let dead = WorkerIdentity.make(pid: try deadPid())
        _ = try #require(try queue.claim("\(id).json", as: dead))

        let pass = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(pass.events.map(\.job) == [id])
        #expect(pass.events.first?.action == .requeued(attempts: 1))
        #expect(names(queue.running).isEmpty)
        #expect(names(queue.incoming) == ["\(id).attempts", "\(id).json"])
        #expect(contents("\(queue.incoming)/\(id).json") == job(1))

        let again = try #require(try queue.claim("\(id).json", as: .make()))
        #expect(again.attempt == 2)
        #expect(again.history.count == 1)
        #expect(again.history[0].contains("pid \(dead.pid) on \(dead.host)) is gone"))
        #expect(names(queue.incoming).isEmpty)
    }

    /// Eight recoverers at once over 200 jobs of a dead worker: each job is put back by
    /// exactly one of them, with one attempt counted.
    @Test func racingRecoverersPutEachJobBackOnce() throws {
        let queue = try makeQueue()
        let dead = WorkerIdentity.make(pid: try deadPid())
        var ids = Set<String>()
        for number in 0..<200 {
            let id = try queue.submit(job(number))
            _ = try #require(try queue.claim("\(id).json", as: dead))
            ids.insert(id)
        }
        // Each recoverer as a separate worker process would be: its own live pid.
        let standIns = try (0..<8).map { _ in try Process.run(URL(fileURLWithPath: "/bin/sleep"), arguments: ["60"]) }
        defer { standIns.forEach { $0.terminate() } }
        let requeued = Mutex<[String]>([])
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let identity = WorkerIdentity.make(pid: standIns[index].processIdentifier)
            do {
                let pass = try queue.recoverAbandoned(policy: patient, as: identity)
                requeued.withLock { $0 += pass.events.filter { $0.action == .requeued(attempts: 1) }.map(\.job) }
                errors.withLock { $0 += pass.errors }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        let all = requeued.withLock { $0 }
        #expect(all.count == 200)
        #expect(Set(all) == ids)
        #expect(names(queue.running).isEmpty)
        for id in ids {
            let record = contents(queue.attemptsPath(id)).flatMap { QueueJSON.decode(AttemptRecord.self, from: $0) }
            #expect(record?.attempts == 1)
            #expect(contents("\(queue.incoming)/\(id).json") != nil)
        }
    }

    @Test func aLiveLeaseIsLeftAloneUntilItsHeartbeatIsOlderThanTheTimeout() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let remote = remoteIdentity()
        _ = try #require(try queue.claim("\(id).json", as: remote))
        try age(queue, lease: id, by: 100)

        let recoverer = WorkerIdentity.make()
        #expect(try queue.recoverAbandoned(policy: RecoveryPolicy(leaseTimeout: 200, maxAttempts: 3), as: recoverer).events.isEmpty)
        #expect(names(queue.running) == ["\(id).json", "\(id).lease"])

        let pass = try queue.recoverAbandoned(policy: RecoveryPolicy(leaseTimeout: 50, maxAttempts: 3), as: recoverer)
        #expect(pass.events.first?.action == .requeued(attempts: 1))
        #expect(pass.events.first?.reason.contains("sent no heartbeat for 100 s") == true)
        #expect(names(queue.incoming) == ["\(id).attempts", "\(id).json"])
    }

    @Test func aJobAbandonedInEveryAttemptBecomesAPoisonJob() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let policy = RecoveryPolicy(leaseTimeout: 3600, maxAttempts: 2)
        for attempt in 1...2 {
            let claim = try #require(try queue.claim("\(id).json", as: .make(pid: try deadPid())))
            #expect(claim.attempt == attempt)
            _ = try queue.recoverAbandoned(policy: policy, as: .make())
        }
        #expect(names(queue.incoming).isEmpty)
        #expect(names(queue.running).isEmpty)
        #expect(names(queue.tmp).isEmpty)
        #expect(names("\(queue.failed)/\(id)") == ["error.json", "job.json"])
        #expect(contents("\(queue.failed)/\(id)/job.json") == job(1))
        let report = try #require(errorReport(queue, id))
        #expect(report.kind == .poison)
        #expect(report.attempt == 2 && report.maxAttempts == 2)
        #expect(report.history.count == 2)
        #expect(report.what.hasPrefix("abandoned in each of its 2 attempts"))
    }

    @Test func aJobWhoseClaimantDiedBeforeItsLeaseIsRecoveredAfterTheTimeout() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        #expect(rename("\(queue.incoming)/\(id).json", queue.runningJob(id)) == 0)

        let recoverer = WorkerIdentity.make()
        let early = try queue.recoverAbandoned(policy: patient, as: recoverer)
        #expect(early.events.isEmpty && early.waitingForRecovery == 1)

        let late = try queue.recoverAbandoned(policy: RecoveryPolicy(leaseTimeout: 0, maxAttempts: 3), as: recoverer)
        #expect(late.events.first?.action == .requeued(attempts: 1))
        #expect(late.waitingForRecovery == 0)
        #expect(names(queue.incoming) == ["\(id).attempts", "\(id).json"])
        #expect(names(queue.running).isEmpty)
    }

    /// A worker that died after publishing its result but before clearing `running/`: the
    /// leftover is removed and the job is not run again.
    @Test func aRecoveredJobWhoseResultExistsIsNotRunAgain() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let dead = WorkerIdentity.make(pid: try deadPid())
        let claim = try #require(try queue.claim("\(id).json", as: dead))
        let staged = try queue.resultStaging(for: claim, as: dead)
        try Data("first run\n".utf8).write(to: URL(fileURLWithPath: staged + "/log.txt"))
        #expect(rename(staged, "\(queue.done)/\(id)") == 0)

        let runner = ScriptedRunner(.copy)
        let summary = drainingWorker(queue, runner).run()
        #expect(runner.runs.load(ordering: .relaxed) == 0)
        #expect(summary.recovered == 1 && summary.done == 0)
        #expect(names(queue.running).isEmpty && names(queue.incoming).isEmpty && names(queue.tmp).isEmpty)
        #expect(contents("\(queue.done)/\(id)/log.txt") == Array("first run\n".utf8))
    }

    /// A run judged lost that publishes after all: the requeued copy finds `done/<id>/` when
    /// claimed and is dropped instead of run.
    @Test func aRequeuedJobWhoseResultAppearedMeanwhileIsDroppedAtClaim() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        try FileManager.default.createDirectory(atPath: "\(queue.done)/\(id)", withIntermediateDirectories: false)
        try Data("late result\n".utf8).write(to: URL(fileURLWithPath: "\(queue.done)/\(id)/log.txt"))
        #expect(try queue.claim("\(id).json", as: .make()) == nil)
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty)
    }

    @Test func stagingOfADeadOwnerIsPurgedAndALiveOnesIsKept() throws {
        let queue = try makeQueue()
        let dead = WorkerIdentity.make(pid: try deadPid())
        let live = WorkerIdentity.make(pid: getppid())
        for owner in [dead, live] {
            try FileManager.default.createDirectory(atPath: "\(queue.tmp)/job-1.result.\(owner.owner)", withIntermediateDirectories: false)
        }
        _ = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(names(queue.tmp) == ["job-1.result.\(live.owner)"])
    }

    /// A live worker on this host whose job was taken over (it was stopped past the lease
    /// timeout) keeps its staging: it still ends its run, and publishes if it is first.
    @Test func stagingOfALiveOwnerOutlivesTheLeaseTimeout() throws {
        let queue = try makeQueue()
        let live = WorkerIdentity.make(pid: getppid())
        let staged = "\(queue.tmp)/job-1.result.\(live.owner)"
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        let hourAgo = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: staged)
        _ = try queue.recoverAbandoned(policy: RecoveryPolicy(leaseTimeout: 1, maxAttempts: 3), as: .make())
        #expect(names(queue.tmp) == ["job-1.result.\(live.owner)"])

        let daysAgo = Date(timeIntervalSinceNow: -2 * JobQueue.liveOwnerStagingAge)
        try FileManager.default.setAttributes([.modificationDate: daysAgo], ofItemAtPath: staged)
        _ = try queue.recoverAbandoned(policy: RecoveryPolicy(leaseTimeout: 1, maxAttempts: 3), as: .make())
        #expect(names(queue.tmp).isEmpty)
    }

    /// A lease left empty or garbled (a power cut before it reached the disk) is judged by its
    /// file's age: until then the job counts as waiting for recovery (a draining worker waits
    /// for it), then it goes back to incoming/.
    @Test(arguments: ["", "{\"job\": "])
    func aJobWithAnUnreadableLeaseWaitsForTheTimeoutThenIsRecovered(lease: String) throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        #expect(rename("\(queue.incoming)/\(id).json", queue.runningJob(id)) == 0)
        try Data(lease.utf8).write(to: URL(fileURLWithPath: queue.leasePath(id)))

        let early = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(early.events.isEmpty && early.waitingForRecovery == 1)
        #expect(names(queue.running) == ["\(id).json", "\(id).lease"])

        let old = Date(timeIntervalSinceNow: -7200)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: queue.leasePath(id))
        let late = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(late.events.first?.action == .requeued(attempts: 1))
        #expect(late.waitingForRecovery == 0)
        #expect(names(queue.running).isEmpty)
        #expect(names(queue.incoming) == ["\(id).attempts", "\(id).json"])
    }

    /// The staged failure of a dead worker holding the job `fifo`, a FIFO it had moved in.
    func stagedFIFOFailure(in queue: JobQueue) throws -> (dead: WorkerIdentity, staged: String) {
        let dead = WorkerIdentity.make(pid: try deadPid())
        let staged = "\(queue.tmp)/fifo.failed.\(dead.owner)"
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        #expect(mkfifo(staged + "/job.json", 0o644) == 0)
        return (dead, staged)
    }

    /// A worker killed while failing an entry that is not a regular file, after moving it into
    /// its staged failure and before the rename into failed/: recovery puts the entry back in
    /// incoming/ (where the next worker fails it again) instead of purging it with the staging.
    @Test func anUnfiledEntryOfADeadWorkerGoesBackToIncoming() throws {
        let queue = try makeQueue()
        let dead = try stagedFIFOFailure(in: queue).dead
        // A staged failure of a regular job holds only a link: the job is still in running/.
        let linked = "\(queue.tmp)/other.failed.\(dead.owner)"
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: false)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: linked + "/job.json"))
        _ = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(names(queue.tmp).isEmpty)
        #expect(names(queue.incoming) == ["fifo.json"])
        #expect(QueueFileSystem.facts("\(queue.incoming)/fifo.json")?.kind == "a FIFO")

        let summary = drainingWorker(queue, ScriptedRunner(.copy)).run()
        #expect(summary.failed == 1)
        #expect(errorReport(queue, "fifo")?.what == "the job is not a regular file: it is a FIFO")
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    /// The same, killed after the staged failure's error.json was written: the attempt it
    /// counted and the history go back with the entry, and the final report counts on from them.
    @Test func anUnfiledEntryKeepsItsAttemptHistory() throws {
        let queue = try makeQueue()
        let (dead, staged) = try stagedFIFOFailure(in: queue)
        let earlier = FailureReport(job: "fifo", kind: .jobError, what: "the job is not a regular file: it is a FIFO", where: nil,
                                    attempt: 2, maxAttempts: 3, owner: dead.owner, host: dead.host, pid: dead.pid, failedAt: 0,
                                    history: ["attempt 1: worker w-1 sent no heartbeat for 60 s"])
        try Data(try QueueJSON.encode(earlier)).write(to: URL(fileURLWithPath: staged + "/error.json"))
        _ = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(names(queue.incoming) == ["fifo.attempts", "fifo.json"])
        #expect(names(queue.tmp).isEmpty)

        let summary = drainingWorker(queue, ScriptedRunner(.copy)).run()
        #expect(summary.failed == 1)
        let report = try #require(errorReport(queue, "fifo"))
        #expect(report.attempt == 3)
        #expect(report.history.count == 2)
        #expect(report.history.first == "attempt 1: worker w-1 sent no heartbeat for 60 s")
        #expect(report.history.last?.hasPrefix("attempt 2: the job is not a regular file: it is a FIFO (its worker \(dead.owner) died") == true)
        #expect(names(queue.incoming).isEmpty && names(queue.running).isEmpty && names(queue.tmp).isEmpty)
    }

    /// A directory under a job's name in running/ whose job is already in failed/ (as an
    /// older worker left one named `X.json`): status shows the job once, as failed, and
    /// recovery removes the directory instead of failing to unlink it at every pass.
    @Test func aLeftoverDirectoryOfAFailedJobIsShownOnceAndRemoved() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        _ = try #require(try queue.claim("\(id).json", as: .make(pid: try deadPid())))
        try FileManager.default.removeItem(atPath: queue.runningJob(id))
        try FileManager.default.createDirectory(atPath: queue.runningJob(id) + "/inside", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(queue.failed)/\(id)", withIntermediateDirectories: false)
        #expect(try queue.jobs().map(\.state) == [.failed])

        let pass = try queue.recoverAbandoned(policy: patient, as: .make())
        #expect(pass.events.map(\.action) == [.alreadyFinished])
        #expect(names(queue.running).isEmpty)
        #expect(try queue.recoverAbandoned(policy: patient, as: .make()).events.isEmpty)
    }
}
