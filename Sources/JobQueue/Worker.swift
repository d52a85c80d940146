/// The worker loop: claims jobs from a queue, runs up to `concurrency` of them at once
/// through a `JobRunner`, renews their leases, recovers jobs abandoned by dead workers, and
/// shuts down without losing a job.
///
/// Threads: one per slot (`concurrency` of them) claims a job and runs it, then hands the
/// end of the run (publish, fail, put back) to a short-lived thread and claims the next, so
/// the next job runs while the last result is flushed — the disk can then commit both in
/// one go, and no hand-over between threads stands between two jobs. The caller's thread
/// keeps the poll: at each poll interval it recovers abandoned jobs and announces a new look
/// at `incoming/`; it also decides when a draining worker is done, and shuts down. One thread
/// renews the leases every lease timeout / 4; one thread reads inotify.
/// They share one lock, which guards the table of active jobs, the candidate names and the
/// stop flag, and is never held across file operations or the runner.
///
/// How often `incoming/` is listed: once per *look* — a look is announced by a poll or an
/// inotify event (`looks` counts them) — by the first slot that needs names, whatever the
/// concurrency. A slot with no name to try and no unanswered look waits, without a timeout,
/// for the next look; any other wake-up (a job ended, a claim was counted out) only makes it
/// check that again. So an idle worker lists `incoming/` once per poll interval and once per
/// inotify batch, and a slot never lists again just because another slot moved.
///
/// A claim that fails for a reason of the machine (a read-only or full file system, a denied
/// permission) is logged once, the names still to try are dropped, and the slots wait for the
/// next look; a draining worker that could claim nothing for such a reason stops and says why
/// (`Summary.cannotClaim`), since waiting for the machine to change is not draining.
///
/// Shutdown (`stop()`, which the command wires to SIGTERM and SIGINT): no more claims; the
/// running jobs get `gracePeriod` seconds to finish; those still running then are put back
/// into `incoming/` without counting the attempt, their staging is removed, and `run()`
/// returns (the command then exits 0, which also ends the abandoned runner threads). A runner
/// that returns after its job was given back has its result discarded. The grace period
/// bounds the whole shutdown: an end of a run (publish, fail) still under way when it is over
/// is left to recovery after one more second, and recovery puts the job back at once when
/// this process is gone.
///
/// Run one worker per process on a queue: on one host a lease is judged by its pid, so a
/// second worker in the same process would take the first one's leases for a predecessor's.
import Foundation
import Logging
import Files
import Synchronization

public final class Worker: @unchecked Sendable {
    public let queue: JobQueue
    public let concurrency: Int
    public let runner: any JobRunner
    public let pollInterval: Double
    public let policy: RecoveryPolicy
    public let drain: Bool
    public let gracePeriod: Double
    /// Seconds a job that failed for a reason of the moment waits before its next attempt,
    /// doubled for each attempt after the first (at most `maximumWait`): a database that is
    /// down for a minute then costs a job a delayed attempt, not all of its attempts within
    /// a second. 0: at once.
    public let retryDelay: Double
    public let identity: WorkerIdentity
    private let logger: Logger

    /// Counts of how jobs ended in this worker.
    public struct Summary: Sendable, Equatable {
        public var done = 0
        public var failed = 0
        public var retried = 0
        public var released = 0
        public var recovered = 0
        /// Runs whose job another worker took over (it judged this one's lease abandoned):
        /// their result is kept only if it is published first, and nothing else is done.
        public var leasesLost = 0
        /// Why a draining worker stopped with jobs left that it could not claim (a read-only
        /// or full file system); nil otherwise.
        public var cannotClaim: String?
    }

    /// The largest poll interval and grace period, in seconds (a day): longer waits serve no
    /// one, and a wait far longer (about 300 years) overflows the nanoseconds of a deadline.
    public static let maximumWait = 86_400.0
    /// The largest lease timeout, in seconds (a week), for the same overflow.
    public static let maximumLeaseTimeout = 7 * 86_400.0
    /// The most jobs one worker runs at once: each is a thread.
    public static let maximumConcurrency = 1_024
    /// The most runs a job may have.
    public static let maximumAttempts = 1_000

    /// A job being run; its flags are guarded by the worker's lock.
    private final class ActiveJob: @unchecked Sendable {
        let claim: Claim
        let context: JobContext
        var released = false
        var finishing = false
        /// Set by the heartbeat when another worker holds the job now; it stops renewing.
        var leaseLost = false

        init(claim: Claim, context: JobContext) {
            self.claim = claim
            self.context = context
        }
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    /// Keyed by the run, not the job id: a job put back can be claimed again while the
    /// thread of its previous run is still ending.
    private var active: [ObjectIdentifier: ActiveJob] = [:]
    private var stopping = false
    /// Looks at `incoming/` asked for so far (one per poll, one per inotify batch).
    private var looks = 0
    /// The look the last listing of `incoming/` answered.
    private var lookListed = 0
    /// Claims won, claims tried and lost, listings done and runs ended so far, so that a
    /// draining worker knows whether anything happened since it last looked, and is woken
    /// to look again when a slot settles.
    private var progress = 0
    private var summary = Summary()
    /// Names in `incoming/` not yet tried, shared by the slots.
    private var candidates: [String] = []
    /// Slots listing `incoming/`, or between taking a name and registering their claim.
    private var claiming = 0
    /// The last claim's failure for a reason of the machine, until a claim succeeds.
    private var claimFailure: String?
    /// Claims that failed one after another since the last success or listing: a failure of
    /// one entry (a file another user owns in a sticky `incoming/`, an immutable one) costs
    /// only its name, so the jobs behind it are still claimed; `failuresBeforeTheNextLook` in
    /// a row are taken as the machine's (a read-only queue) and leave the rest to the next look.
    private var failuresInARow = 0
    static let failuresBeforeTheNextLook = 3

    /// How many times this worker has listed `incoming/`.
    let listings = Atomic<Int>(0)

    /// How many looks at `incoming/` were asked for.
    var looksAsked: Int {
        condition.lock()
        defer { condition.unlock() }
        return looks
    }

    public init(queue: JobQueue, concurrency: Int = 1, runner: any JobRunner, pollInterval: Double = 1,
                leaseTimeout: Double = 60, maxAttempts: Int = 3, drain: Bool = false, gracePeriod: Double = 30,
                retryDelay: Double = 0, identity: WorkerIdentity = .current, logger: Logger = Logger(label: "clientele.worker")) {
        self.queue = queue
        self.concurrency = min(max(1, concurrency), Self.maximumConcurrency)
        self.runner = runner
        self.pollInterval = min(pollInterval, Self.maximumWait)
        policy = RecoveryPolicy(leaseTimeout: min(leaseTimeout, Self.maximumLeaseTimeout),
                                maxAttempts: min(max(1, maxAttempts), Self.maximumAttempts))
        self.drain = drain
        self.gracePeriod = min(max(0, gracePeriod), Self.maximumWait)
        self.retryDelay = min(max(0, retryDelay), Self.maximumWait)
        self.identity = identity
        var logger = logger
        logger[metadataKey: "worker"] = "\(identity.owner)"
        self.logger = logger
    }

    /// Asks the worker to stop: safe from any thread, any number of times.
    public func stop() {
        condition.lock()
        stopping = true
        let jobs = Array(active.values)
        condition.broadcast()
        condition.unlock()
        for job in jobs { job.context.markStopping() }
    }

    /// Runs until `stop()` — or, with `drain`, until nothing is left to do — and returns how
    /// the jobs ended. Errors of the queue are logged, not thrown: a worker outlives a full
    /// disk or a lost mount and retries at its next poll.
    public func run() -> Summary {
        logger.info("worker started", metadata: ["queue": "\(queue.root)", "concurrency": "\(concurrency)"])
        let watcher = DirectoryWatcher.start(queue.incoming) { [self] in askForLook() }
        if watcher == nil { logger.info("inotify unavailable; polling", metadata: ["interval": "\(pollInterval)"]) }
        let heartbeat = Thread { [self] in renewLeases() }
        heartbeat.start()
        defer { watcher?.stop() }

        for _ in 0..<concurrency { Thread.detachNewThread { [self] in serveSlot() } }
        var nextPoll = Date.distantPast
        // The progress a draining worker's last look at the queue saw; nil after a poll.
        var progressLooked: Int?
        while true {
            if Date() >= nextPoll {
                _ = recover()
                nextPoll = Date(timeIntervalSinceNow: pollInterval)
                progressLooked = nil
                askForLook()
            }
            if drain, let end = drainEnd(after: &progressLooked) {
                if let reason = end {
                    logger.error("cannot claim the jobs left; stopping the drain", metadata: ["error": "\(reason)"])
                    condition.lock()
                    summary.cannotClaim = reason
                    condition.unlock()
                } else {
                    logger.info("queue drained")
                }
                stop()
                break
            }
            condition.lock()
            while !stopping && Date() < nextPoll && !(drain && isSettled() && progress != progressLooked) {
                _ = condition.wait(until: nextPoll)
            }
            let stopRequested = stopping
            condition.unlock()
            if stopRequested { break }
        }
        shutDown()
        heartbeat.cancel()
        condition.lock()
        let result = summary
        condition.unlock()
        logger.info("worker stopped", metadata: ["done": "\(result.done)", "failed": "\(result.failed)",
                                                 "retried": "\(result.retried)", "released": "\(result.released)",
                                                 "leases_lost": "\(result.leasesLost)"])
        return result
    }

    /// For a draining worker whose slots have nothing to do and that saw some progress (or a
    /// poll) since its last look: looks once more, after a recovery pass, before calling the
    /// queue empty. Returns nil to go on; `.some(nil)` when the queue is drained;
    /// `.some(reason)` when jobs are left that a failure of the machine keeps it from claiming.
    /// Names found are handed to the slots, and the next look waits for progress or a poll, so
    /// names that stay unclaimable cannot make it spin.
    private func drainEnd(after progressLooked: inout Int?) -> String?? {
        condition.lock()
        let settled = isSettled()
        let seen = progress
        let failure = claimFailure
        condition.unlock()
        guard settled, seen != progressLooked else { return nil }
        if let failure { return .some(failure) }
        let waitingForRecovery = recover()
        let (fresh, waitingToRetry) = listIncoming()
        condition.lock()
        defer { condition.unlock() }
        if fresh.isEmpty && waitingForRecovery == 0 && waitingToRetry == 0 && isSettled() && progress == seen { return .some(nil) }
        // What this look saw is the progress from before its listing: a slot that settled
        // since (its own listing ended) wakes the worker to look once more.
        progressLooked = seen
        if candidates.isEmpty && !fresh.isEmpty {
            candidates = fresh
            lookListed = looks
            condition.broadcast()
        }
        return nil
    }

    /// Asks the slots for one more look at `incoming/` (a poll, an inotify event).
    private func askForLook() {
        condition.lock()
        looks += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the slots have nothing to do: no job, no claim or listing under way, no name
    /// left to try. Called with the lock held.
    private func isSettled() -> Bool {
        active.isEmpty && claiming == 0 && candidates.isEmpty
    }

    /// The names a slot may try, and how many jobs wait for their retry to be due.
    private func listIncoming() -> (candidates: [String], waitingToRetry: Int) {
        listings.add(1, ordering: .relaxed)
        do {
            return try queue.listIncoming()
        } catch {
            logger.error("cannot list incoming/", metadata: ["error": "\(error)"])
            return ([], 0)
        }
    }

    /// A slot: claims a job and runs it, again and again, until the worker stops.
    private func serveSlot() {
        while let claim = claimNext() {
            guard let job = register(claim) else { continue }
            let outcome = execute(job)
            Thread.detachNewThread { [self] in
                finish(job, outcome)
                condition.lock()
                active[ObjectIdentifier(job)] = nil
                progress += 1
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// The next job this worker wins, counted in `claiming` (`register` counts it out); nil
    /// once the worker stops. Tries the shared candidate names in order, lists `incoming/`
    /// when they run out and a look is asked for that no listing answered yet, and otherwise
    /// waits for the next look.
    private func claimNext() -> Claim? {
        condition.lock()
        while !stopping {
            if !candidates.isEmpty {
                let name = candidates.removeFirst()
                claiming += 1
                condition.unlock()
                do {
                    if let claim = try queue.claim(name, as: identity) { return claim }
                    condition.lock()
                } catch {
                    // A job whose claim failed half-way (no lease) is recovered later like any
                    // claimant's that died. The next names are tried, unless several in a row
                    // failed: then they would fail alike, and wait for the next look.
                    condition.lock()
                    claimFailure = "\(error)"
                    failuresInARow += 1
                    let giveUp = failuresInARow >= Self.failuresBeforeTheNextLook
                    if giveUp { candidates.removeAll() }
                    logger.error(giveUp ? "cannot claim; trying again at the next poll" : "cannot claim; trying the next job",
                                 metadata: ["error": "\(error)", "job": "\(name.hasSuffix(".json") ? String(name.dropLast(5)) : name)"])
                }
                claiming -= 1
                progress += 1
                condition.broadcast()
            } else if lookListed != looks {
                lookListed = looks
                claiming += 1
                condition.unlock()
                let names = listIncoming().candidates
                condition.lock()
                failuresInARow = 0
                if candidates.isEmpty { candidates = names }
                claiming -= 1
                // A draining worker that looked while this listing was under way waits for
                // this to look again, not for the next poll (which may be a day away).
                progress += 1
                condition.broadcast()
            } else {
                condition.wait()
            }
        }
        condition.unlock()
        return nil
    }

    /// Enters a claim in the table of active jobs (and counts its slot out of `claiming`); a
    /// claim won while the worker began to stop is put back at once, uncounted.
    private func register(_ claim: Claim) -> ActiveJob? {
        var jobLogger = logger
        jobLogger[metadataKey: "job"] = "\(claim.id)"
        jobLogger[metadataKey: "attempt"] = "\(claim.attempt)"
        let job = ActiveJob(claim: claim, context: JobContext(logger: jobLogger))
        condition.lock()
        let stopRequested = stopping
        if !stopRequested {
            active[ObjectIdentifier(job)] = job
            claiming -= 1
            progress += 1
            claimFailure = nil
            failuresInARow = 0
        }
        condition.unlock()
        guard !stopRequested else {
            // Still counted in `claiming`, so that shutdown waits for this.
            try? queue.requeue(claim, attemptsCounted: claim.attempt - 1, reason: nil, as: identity)
            condition.lock()
            claiming -= 1
            condition.broadcast()
            condition.unlock()
            return nil
        }
        jobLogger.info("claimed")
        return job
    }

    /// One recovery pass, logged; returns the count of jobs without a readable lease still too
    /// young to judge.
    private func recover() -> Int {
        do {
            let pass = try queue.recoverAbandoned(policy: policy, as: identity)
            for event in pass.events {
                var jobLogger = logger
                jobLogger[metadataKey: "job"] = "\(event.job)"
                switch event.action {
                case .requeued(let attempts):
                    jobLogger.warning("recovered an abandoned job", metadata: ["reason": "\(event.reason)", "attempts": "\(attempts)"])
                case .poisoned(let attempts):
                    jobLogger.error("abandoned in every attempt; moved to failed/", metadata: ["reason": "\(event.reason)", "attempts": "\(attempts)"])
                case .alreadyFinished:
                    jobLogger.info("removed a leftover of a finished job", metadata: ["reason": "\(event.reason)"])
                }
            }
            for error in pass.errors {
                logger.error("cannot recover an abandoned job; the next pass tries again", metadata: ["error": "\(error)"])
            }
            condition.lock()
            summary.recovered += pass.events.count
            summary.failed += pass.events.count { if case .poisoned = $0.action { true } else { false } }
            condition.unlock()
            return pass.waitingForRecovery
        } catch {
            logger.error("recovery pass failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Marks the job as ending; false when shutdown already gave it back, in which case the
    /// run's result must be dropped.
    private func beginFinishing(_ job: ActiveJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if job.released { return false }
        job.finishing = true
        return true
    }

    private func count(_ keyPath: WritableKeyPath<Summary, Int>) {
        condition.lock()
        summary[keyPath: keyPath] += 1
        condition.unlock()
    }

    /// How a run ended, for `finish`.
    private enum Outcome: Sendable {
        case succeeded(result: String)
        /// Not a job at all (its name, its size, its kind of file).
        case invalid(String)
        case jobFailure(JobFailure, staging: String?)
        case fault(String, staging: String?)
    }

    /// Reads the job and runs it; the end of the run is `finish`'s.
    private func execute(_ job: ActiveJob) -> Outcome {
        let claim = job.claim
        if let name = claim.invalidName {
            return .invalid("the file name \"\(name)\" is not <job id>.json (a job id is letters, digits, '.', '_' and '-', not starting with '.' and without '..')")
        }
        // lstat, before anything opens it: a FIFO or a device would block the open.
        guard let facts = QueueFileSystem.facts(claim.jobFile) else {
            return .fault("\(claim.jobFile): no such file", staging: nil)
        }
        guard facts.isRegularFile else { return .invalid("the job is not a regular file: it is \(facts.kind)") }
        let size = facts.size
        guard size <= JobQueue.maximumJobFileSize else {
            return .invalid("the job file is \(size) bytes; a job file may be at most \(JobQueue.maximumJobFileSize) bytes")
        }
        var staging: String?
        do {
            let bytes = try QueueFileSystem.readFile(claim.jobFile, limit: JobQueue.maximumJobFileSize) ?? []
            let result = try queue.resultStaging(for: claim, as: identity)
            staging = result
            job.context.logger.info("running")
            try runner.run(QueuedJob(id: claim.id, bytes: bytes, path: claim.jobFile, attempt: claim.attempt),
                           into: result, context: job.context)
            return .succeeded(result: result)
        } catch let failure as JobFailure {
            return .jobFailure(failure, staging: staging)
        } catch {
            return .fault(describe(error), staging: staging)
        }
    }

    /// Ends a run: publishes its result, fails the job, or gives it back — unless shutdown
    /// already gave it back, in which case the run's staging is dropped.
    private func finish(_ job: ActiveJob, _ outcome: Outcome) {
        let claim = job.claim
        let log = job.context.logger
        guard beginFinishing(job) else {
            switch outcome {
            case .succeeded(let staging): discard(staging)
            case .jobFailure(_, let staging), .fault(_, let staging): discard(staging)
            case .invalid: break
            }
            return
        }
        switch outcome {
        case .succeeded(let result):
            do {
                switch try queue.publish(claim, result: result, as: identity) {
                case .published:
                    log.info("done", metadata: ["result": "\(queue.done)/\(claim.id)"])
                case .alreadyDone:
                    log.warning("a result was already published by an earlier attempt; this one is discarded")
                }
                count(\.done)
            } catch {
                giveBack(job, staging: result, reason: describe(error))
            }
        case .invalid(let what):
            do {
                try fail(job, .invalidJobFile, what, nil, staging: nil)
            } catch {
                giveBack(job, staging: nil, reason: describe(error))
            }
        case .jobFailure(let failure, let staging):
            do {
                try fail(job, .jobError, failure.what, failure.location, staging: staging)
            } catch {
                giveBack(job, staging: staging, reason: describe(error))
            }
        case .fault(let reason, let staging):
            giveBack(job, staging: staging, reason: reason)
        }
    }

    /// One line for a run's error: Foundation's file errors as their path and the system's
    /// reason (`…/big.bin: No space left on device`) rather than their long debug form.
    private func describe(_ error: any Error) -> String {
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain else { return "\(error)" }
        var text = bridged.localizedDescription
        if bridged.domain == NSPOSIXErrorDomain {
            text = QueueFileSystem.reason(Int32(bridged.code))
        } else if let underlying = bridged.userInfo[NSUnderlyingErrorKey] as? any Error,
                  (underlying as NSError).domain == NSPOSIXErrorDomain {
            text = QueueFileSystem.reason(Int32((underlying as NSError).code))
        }
        if let path = bridged.userInfo[NSFilePathErrorKey] as? String { text = "\(path): \(text)" }
        return text
    }

    private func discard(_ staging: String?) {
        if let staging { FileTree.removeTree(staging) }
    }

    /// Fails the job, unless another worker took it over meanwhile: it is then that worker's
    /// to run, fail or retry, and this run only counts the loss. (A result is still
    /// published if it is the first: each job is done once, by whichever run publishes first.)
    private func fail(_ job: ActiveJob, _ kind: FailureReport.Kind, _ what: String, _ location: JobErrorLocation?,
                      staging: String?) throws {
        guard queue.holds(job.claim, as: identity) else {
            discard(staging)
            return leaseLost(job, what)
        }
        let report = queue.report(for: job.claim, kind, what, where: location, maxAttempts: policy.maxAttempts, as: identity)
        try queue.fail(job.claim, report: report, result: staging, as: identity)
        job.context.logger.error("failed", metadata: ["kind": "\(kind.rawValue)", "what": "\(report.what)",
                                                      "failed": "\(queue.failed)/\(job.claim.id)"])
        count(\.failed)
    }

    /// A run that ended without a result through no fault of the job: retried while attempts
    /// remain (given back uncounted if the worker is stopping), otherwise failed as poison.
    private func giveBack(_ job: ActiveJob, staging: String?, reason: String) {
        discard(staging)
        let claim = job.claim
        let log = job.context.logger
        do {
            if job.context.isStopping {
                guard try queue.requeue(claim, attemptsCounted: claim.attempt - 1, reason: nil, as: identity) else {
                    return leaseLost(job, reason)
                }
                log.notice("released at shutdown", metadata: ["error": "\(reason)"])
                count(\.released)
            } else if claim.attempt < policy.maxAttempts {
                let delay = Self.retryDelay(retryDelay, afterAttempt: claim.attempt)
                guard try queue.requeue(claim, attemptsCounted: claim.attempt, reason: "attempt \(claim.attempt): \(reason)",
                                        retryAt: delay > 0 ? now() + delay : nil, as: identity) else {
                    return leaseLost(job, reason)
                }
                log.warning("run failed; put back for another attempt",
                            metadata: delay > 0 ? ["error": "\(reason)", "retry_in": "\(delay) s"] : ["error": "\(reason)"])
                count(\.retried)
            } else {
                try fail(job, .poison, "failed in each of its \(claim.attempt) attempts (the last: \(reason))", nil, staging: nil)
            }
        } catch {
            // Left in running/ under this worker's lease; recovery takes it once the lease
            // is abandoned.
            log.error("cannot put the job back or fail it", metadata: ["error": "\(error)", "cause": "\(reason)"])
        }
    }

    /// The wait before the attempt after `attempt`: `base` doubled for each attempt after the
    /// first, at most `maximumWait`.
    static func retryDelay(_ base: Double, afterAttempt attempt: Int) -> Double {
        guard base > 0 else { return 0 }
        return min(base * Double(1 << min(max(attempt - 1, 0), 30)), maximumWait)
    }

    /// A run whose job another worker holds now: whatever it ended with, the job is that
    /// worker's, so nothing is put back or failed, and nothing is counted but the loss.
    private func leaseLost(_ job: ActiveJob, _ reason: String) {
        job.context.logger.warning("the run ended after another worker took the job over; left to that worker",
                                   metadata: ["error": "\(reason)"])
        count(\.leasesLost)
    }

    /// Renews the leases of the running jobs every lease timeout / 4 until the thread is
    /// cancelled; a job whose lease another worker took is told once and not renewed again.
    private func renewLeases() {
        let interval = max(0.05, policy.leaseTimeout / 4)
        while !Thread.current.isCancelled {
            Thread.sleep(forTimeInterval: interval)
            condition.lock()
            let jobs = active.values.filter { !$0.released && !$0.finishing && !$0.leaseLost }
            condition.unlock()
            for job in jobs where !queue.renew(job.claim, as: identity) {
                condition.lock()
                job.leaseLost = true
                condition.unlock()
                job.context.logger.warning("lease lost: another worker judged this job abandoned; its result will be kept only if it is the first")
            }
        }
    }

    /// After the loop ends: waits up to the grace period for running jobs, then gives back
    /// the ones still running.
    private func shutDown() {
        let deadline = Date(timeIntervalSinceNow: gracePeriod)
        condition.lock()
        if !active.isEmpty {
            logger.notice("stopping: waiting for running jobs", metadata: ["jobs": "\(active.count)", "grace": "\(gracePeriod)"])
        }
        while !active.isEmpty && condition.wait(until: deadline) {}
        let unfinished = active.values.filter { !$0.finishing }
        for job in unfinished { job.released = true }
        condition.unlock()
        for job in unfinished {
            let claim = job.claim
            FileTree.removeTree(queue.staging(claim.id, "result", identity))
            do {
                if try queue.requeue(claim, attemptsCounted: claim.attempt - 1, reason: nil, as: identity) {
                    job.context.logger.notice("released at shutdown: the grace period ended before the job")
                    count(\.released)
                } else {
                    leaseLost(job, "the worker stopped before the run ended")
                }
            } catch {
                job.context.logger.error("cannot release the job; it stays under this worker's lease until recovered", metadata: ["error": "\(error)"])
            }
        }
        // Jobs already publishing or failing, and claims won as the stop came, end in
        // moments; let them, within the grace period (and a second more, so that a claim won
        // as the stop came is put back even with no grace). One still under way then (a file
        // system that hangs) stays under this worker's lease, which recovery finds abandoned
        // once this process has exited.
        let last = max(deadline, Date(timeIntervalSinceNow: 1))
        condition.lock()
        while claiming > 0 || active.values.contains(where: { $0.finishing }) {
            guard condition.wait(until: last) else {
                logger.error("the grace period ended while jobs were still being published or failed; recovery puts them back")
                break
            }
        }
        condition.unlock()
    }
}
