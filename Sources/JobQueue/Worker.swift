/// The worker loop: claims jobs from a queue, runs up to `concurrency` of them at once
/// through a `JobRunner`, renews their leases, recovers jobs abandoned by dead workers, and
/// shuts down without losing a job.
///
/// Threads: the caller's thread runs the loop (claim, recover, wait); each job runs on a
/// thread of its own; one thread renews the leases every lease timeout / 4; one thread
/// reads inotify. They share one lock, which guards the table of active jobs and the stop flag
/// and is never held across file operations or the runner.
///
/// Shutdown (`stop()`, which the command wires to SIGTERM and SIGINT): no more claims; the
/// running jobs get `gracePeriod` seconds to finish; those still running then are put back
/// into `incoming/` without counting the attempt, their staging is removed, and `run()`
/// returns (the command then exits 0, which also ends the abandoned runner threads). A runner
/// that returns after its job was given back has its result discarded.
///
/// Run one worker per process on a queue: on one host a lease is judged by its pid, so a
/// second worker in the same process would take the first one's leases for a predecessor's.
import Foundation
import Logging

public final class Worker: @unchecked Sendable {
    public let queue: JobQueue
    public let concurrency: Int
    public let runner: any JobRunner
    public let pollInterval: Double
    public let policy: RecoveryPolicy
    public let drain: Bool
    public let gracePeriod: Double
    public let identity: WorkerIdentity
    private let logger: Logger

    /// Counts of how jobs ended in this worker.
    public struct Summary: Sendable, Equatable {
        public var done = 0
        public var failed = 0
        public var retried = 0
        public var released = 0
        public var recovered = 0
    }

    /// A job being run; its flags are guarded by the worker's lock.
    private final class ActiveJob: @unchecked Sendable {
        let claim: Claim
        let context: JobContext
        var released = false
        var finishing = false

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
    private var woken = false
    private var summary = Summary()

    public init(queue: JobQueue, concurrency: Int = 1, runner: any JobRunner, pollInterval: Double = 1,
                leaseTimeout: Double = 60, maxAttempts: Int = 3, drain: Bool = false, gracePeriod: Double = 30,
                identity: WorkerIdentity = .current, logger: Logger = Logger(label: "clientele.worker")) {
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.runner = runner
        self.pollInterval = pollInterval
        policy = RecoveryPolicy(leaseTimeout: leaseTimeout, maxAttempts: max(1, maxAttempts))
        self.drain = drain
        self.gracePeriod = gracePeriod
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
        let watcher = DirectoryWatcher.start(queue.incoming) { [self] in wake() }
        if watcher == nil { logger.info("inotify unavailable; polling", metadata: ["interval": "\(pollInterval)"]) }
        let heartbeat = Thread { [self] in renewLeases() }
        heartbeat.start()
        defer { watcher?.stop() }

        var candidates: [String] = []
        var lastRecovery = -Double.infinity
        while true {
            condition.lock()
            let stopRequested = stopping
            // Jobs whose run has ended and that are only being published, failed or put back
            // leave their slot: the next job runs while their fsyncs complete, so the disk
            // can commit both in one go.
            let free = concurrency - active.values.count(where: { !$0.finishing })
            let idle = active.isEmpty
            woken = false
            condition.unlock()
            if stopRequested { break }

            if now() - lastRecovery >= pollInterval {
                _ = recover()
                lastRecovery = now()
            }
            if free > 0 {
                do {
                    if candidates.isEmpty { candidates = try queue.claimCandidates() }
                    if let claim = try claimNext(&candidates) {
                        start(claim)
                        continue
                    }
                } catch {
                    // A job whose claim failed half-way (no lease) is recovered later like
                    // any claimant's that died; the worker itself goes on.
                    logger.error("cannot claim", metadata: ["error": "\(error)"])
                    candidates = []
                }
            }
            if drain, idle, candidates.isEmpty {
                // Look once more, after a recovery pass, before calling the queue empty.
                let waitingWithoutLease = recover()
                lastRecovery = now()
                candidates = (try? queue.claimCandidates()) ?? []
                if candidates.isEmpty && waitingWithoutLease == 0 {
                    logger.info("queue drained")
                    stop()
                    break
                }
                if !candidates.isEmpty { continue }
            }
            condition.lock()
            if !woken && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: pollInterval)) }
            condition.unlock()
        }
        shutDown()
        heartbeat.cancel()
        condition.lock()
        let result = summary
        condition.unlock()
        logger.info("worker stopped", metadata: ["done": "\(result.done)", "failed": "\(result.failed)",
                                                 "retried": "\(result.retried)", "released": "\(result.released)"])
        return result
    }

    private func wake() {
        condition.lock()
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    private func claimNext(_ candidates: inout [String]) throws -> Claim? {
        while !candidates.isEmpty {
            let name = candidates.removeFirst()
            if let claim = try queue.claim(name, as: identity) { return claim }
        }
        return nil
    }

    /// One recovery pass, logged; returns the count of lease-less jobs still too young to judge.
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
            condition.unlock()
            return pass.waitingWithoutLease
        } catch {
            logger.error("recovery pass failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    private func start(_ claim: Claim) {
        var jobLogger = logger
        jobLogger[metadataKey: "job"] = "\(claim.id)"
        jobLogger[metadataKey: "attempt"] = "\(claim.attempt)"
        let job = ActiveJob(claim: claim, context: JobContext(logger: jobLogger))
        condition.lock()
        active[ObjectIdentifier(job)] = job
        if stopping { job.context.markStopping() }
        condition.unlock()
        jobLogger.info("claimed")
        Thread.detachNewThread { [self] in
            execute(job)
            condition.lock()
            active[ObjectIdentifier(job)] = nil
            woken = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Marks the job as ending; false when shutdown already gave it back, in which case the
    /// run's result must be dropped.
    private func beginFinishing(_ job: ActiveJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if job.released { return false }
        job.finishing = true
        woken = true
        condition.broadcast()
        return true
    }

    private func count(_ keyPath: WritableKeyPath<Summary, Int>) {
        condition.lock()
        summary[keyPath: keyPath] += 1
        condition.unlock()
    }

    private func execute(_ job: ActiveJob) {
        let claim = job.claim
        let log = job.context.logger
        var staging: String?
        do {
            if let name = claim.invalidName {
                guard beginFinishing(job) else { return }
                try fail(job, .invalidJobFile, "the file name \"\(name)\" is not <job id>.json (a job id is letters, digits, '.', '_' and '-', not starting with '.' and without '..')", nil, staging: nil)
                return
            }
            let facts = QueueFileSystem.facts(claim.jobFile)
            guard facts?.isRegularFile ?? false else {
                guard beginFinishing(job) else { return }
                try fail(job, .invalidJobFile, "the job is not a regular file (a directory, a symbolic link or a device)", nil, staging: nil)
                return
            }
            let size = facts?.size ?? 0
            guard size <= JobQueue.maximumJobFileSize,
                  let bytes = try QueueFileSystem.readFile(claim.jobFile, limit: JobQueue.maximumJobFileSize) else {
                guard beginFinishing(job) else { return }
                try fail(job, .invalidJobFile, "the job file is \(size) bytes; a job file may be at most \(JobQueue.maximumJobFileSize) bytes", nil, staging: nil)
                return
            }
            let result = try queue.resultStaging(for: claim, as: identity)
            staging = result
            log.info("running")
            try runner.run(QueuedJob(id: claim.id, bytes: bytes, path: claim.jobFile, attempt: claim.attempt),
                           into: result, context: job.context)
            guard beginFinishing(job) else {
                QueueFileSystem.removeTree(result)
                return
            }
            switch try queue.publish(claim, result: result, as: identity) {
            case .published:
                log.info("done", metadata: ["result": "\(queue.done)/\(claim.id)"])
            case .alreadyDone:
                log.warning("a result was already published by an earlier attempt; this one is discarded")
            }
            count(\.done)
        } catch let failure as JobFailure {
            guard beginFinishing(job) else { return discard(staging) }
            do {
                try fail(job, .jobError, failure.what, failure.location, staging: staging)
            } catch {
                giveBack(job, staging: staging, reason: "\(error)")
            }
        } catch {
            guard beginFinishing(job) else { return discard(staging) }
            giveBack(job, staging: staging, reason: describe(error))
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
        if let staging { QueueFileSystem.removeTree(staging) }
    }

    private func fail(_ job: ActiveJob, _ kind: FailureReport.Kind, _ what: String, _ location: JobErrorLocation?,
                      staging: String?) throws {
        let report = queue.report(for: job.claim, kind, what, where: location, maxAttempts: policy.maxAttempts, as: identity)
        try queue.fail(job.claim, report: report, result: staging, as: identity)
        job.context.logger.error("failed", metadata: ["kind": "\(kind.rawValue)", "what": "\(what)",
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
                try queue.requeue(claim, attemptsCounted: claim.attempt - 1, reason: nil, as: identity)
                log.notice("released at shutdown", metadata: ["error": "\(reason)"])
                count(\.released)
            } else if claim.attempt < policy.maxAttempts {
                try queue.requeue(claim, attemptsCounted: claim.attempt, reason: "attempt \(claim.attempt): \(reason)", as: identity)
                log.warning("run failed; put back for another attempt", metadata: ["error": "\(reason)"])
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

    /// Renews the leases of the running jobs every lease timeout / 4 until the thread is
    /// cancelled.
    private func renewLeases() {
        let interval = max(0.05, policy.leaseTimeout / 4)
        while !Thread.current.isCancelled {
            Thread.sleep(forTimeInterval: interval)
            condition.lock()
            let jobs = active.values.filter { !$0.released && !$0.finishing }
            condition.unlock()
            for job in jobs where !queue.renew(job.claim, as: identity) {
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
            QueueFileSystem.removeTree(queue.staging(claim.id, "result", identity))
            do {
                try queue.requeue(claim, attemptsCounted: claim.attempt - 1, reason: nil, as: identity)
                job.context.logger.notice("released at shutdown: the grace period ended before the job")
                count(\.released)
            } catch {
                job.context.logger.error("cannot release the job; it stays under this worker's lease until recovered", metadata: ["error": "\(error)"])
            }
        }
        // Jobs already publishing or failing end in moments; let them.
        condition.lock()
        while active.values.contains(where: { $0.finishing }) { condition.wait() }
        condition.unlock()
    }
}
