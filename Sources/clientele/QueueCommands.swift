/// `clientele submit`, `clientele worker` and `clientele status`: the queue of design.md
/// from the command line, with the job pipeline as the worker's runner.
///
/// The commands only compose `JobQueue` calls; what a job is comes from Segmentation: `submit`
/// refuses a job that `JobValidation` refuses, and the worker runs jobs with the pipeline.
import ArgumentParser
import Dispatch
import Foundation
import JobQueue
import Logging
import Segmentation
import Transactions
#if canImport(Glibc)
import Glibc
#endif

struct QueueOption: ParsableArguments {
    @Option(help: "The queue directory (submit and worker create it if missing; status refuses a path that is not a queue).")
    var queue: String

    func validate() throws {
        guard !queue.isEmpty else { throw ValidationError("--queue: expected the queue directory's path, got an empty one") }
    }

    /// The queue, created if missing: for the commands that put jobs in or take them out.
    func open() throws -> JobQueue {
        try JobQueue(at: queue)
    }

    /// The queue as it is, for a command that only looks: a path that is not a queue is
    /// refused, so a typo cannot pass for an empty queue.
    func openExisting() throws -> JobQueue {
        try JobQueue(existingAt: queue)
    }
}

/// A job file's full validation (`JobValidation`) as the queue's refusal: the job's own
/// fault, with its file, line and column or key path. `queued`: read from the queue, where
/// only absolute paths are taken.
func validatedJob(_ bytes: [UInt8], file: String, queued: Bool = false) throws(JobFailure) -> Job {
    do {
        return try JobValidation.validate(bytes: bytes, source: file, absolutePathsOnly: queued)
    } catch {
        throw JobFailure(error.description, where: JobErrorLocation(file: file, line: error.line, column: error.column,
                                                                     keyPath: error.keyPath))
    }
}

/// The worker's runner: the job pipeline (`clientele run`) into the queue's staging
/// directory, which the worker publishes as `done/<id>/`. Bad data and bad parameters are
/// `JobFailure`s (not retried); a failure to write the result is a fault of the moment.
struct PipelineJobRunner: JobRunner {
    /// Seconds each job waits before it runs (a hidden worker option, to exercise shutdown and crashes).
    var simulatedSeconds = 0.0

    func run(_ queued: QueuedJob, into result: String, context: JobContext) throws {
        let job = try validatedJob(queued.bytes, file: queued.path, queued: true)
        if simulatedSeconds > 0 { Thread.sleep(forTimeInterval: simulatedSeconds) }
        let outcome: Pipeline.Outcome
        defer { MemoryReuse.returnFreedMemory() }
        do {
            outcome = try Pipeline.run(job: job, into: result, clienteleVersion: Clientele.version,
                                       logHeader: "job \(queued.id), attempt \(queued.attempt): \(job.name)\n")
        } catch let error as PipelineError where error.isJobFault {
            // Bad data is named in the log; a setting the data defeats, in the job file.
            let place = error.location
            throw JobFailure("\(error)", where: place.keyPath == nil
                ? JobErrorLocation(file: place.file ?? job.transactions.path, line: place.line, field: place.column)
                : JobErrorLocation(file: queued.path, keyPath: place.keyPath))
        }
        if let crm = job.crm {
            // Loaded from the staging directory under the job's id, before the worker publishes
            // the result: a failure here (the database unreachable) is retried like any fault of
            // the moment, and an export repeated by a retry leaves exactly the same rows.
            try CRMExport.export(resultDirectory: result, jobID: queued.id, database: crm.database)
            context.logger.info("exported to the CRM database", metadata: ["database": "\(crm.database)"])
        }
        context.logger.info("pipeline finished", metadata: ["summary": "\(outcome.summaryLine)"])
    }
}

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Put a job file into a queue; prints the job id.",
        discussion: """
            The job file (at most 1 MiB) is validated as `clientele run` validates it and \
            refused with the file and key path of the first problem; otherwise it enters \
            QUEUE/incoming/ whole, as validated: defaults filled in, paths made absolute.

            Example:
              clientele submit jobs/cdnow.json --queue /srv/clientele/queue
            """)

    @Argument(help: "The job file (JSON).")
    var job: String

    @OptionGroup var queue: QueueOption

    func run() throws {
        let queue = try queue.open()
        let bytes: [UInt8]
        do {
            bytes = try JobValidation.read(path: job)
        } catch {
            throw CommandError(error.description)
        }
        // The job enters the queue as validated: defaults filled in and paths absolute, since
        // a worker reads it from the queue, far from the directory it was written in.
        let resolved = Array(try validatedJob(bytes, file: job).jsonValue.formatted().utf8)
        guard resolved.count <= JobQueue.maximumJobFileSize else {
            throw CommandError("\(job): is \(resolved.count) bytes as it would enter the queue (defaults filled in, paths absolute); a queued job may be at most \(JobQueue.maximumJobFileSize) bytes")
        }
        print(try queue.submit(resolved))
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run jobs from a queue until stopped (SIGTERM, SIGINT) or, with --drain, until none is left.",
        discussion: """
            Claims jobs from QUEUE/incoming/, runs up to --concurrency of them at once, and \
            publishes each result as QUEUE/done/<job-id>/. Jobs abandoned by a dead worker are \
            put back: at once when it ran on this host, after --lease-timeout otherwise. On \
            SIGTERM or SIGINT it stops claiming, lets running jobs finish for --grace-period \
            seconds, puts back the rest (without counting the attempt) and exits 0. Logs go to \
            standard error, one line per event, with the job id.

            Example:
              clientele worker --queue /srv/clientele/queue --concurrency 2
            """)

    @OptionGroup var queue: QueueOption

    @Option(parsing: .unconditional, help: "Jobs run at once (at most \(Worker.maximumConcurrency)).")
    var concurrency = 1

    @Flag(help: "Exit once the queue has nothing left for this worker (non-zero when jobs are left that it cannot claim).")
    var drain = false

    @Option(parsing: .unconditional, help: "Seconds between looks at the queue, at most \(Int(Worker.maximumWait)) (inotify wakes the worker sooner on a local disk).")
    var pollInterval = 1.0

    @Option(parsing: .unconditional, help: "Seconds without a heartbeat after which another host's job counts as abandoned (at most \(Int(Worker.maximumLeaseTimeout))).")
    var leaseTimeout = 60.0

    @Option(parsing: .unconditional, help: "Runs a job may have before it is moved to failed/ as a poison job (at most \(Worker.maximumAttempts)).")
    var maxAttempts = 3

    @Option(parsing: .unconditional, help: "Seconds running jobs get to finish after SIGTERM or SIGINT (at most \(Int(Worker.maximumWait))).")
    var gracePeriod = 30.0

    @Option(parsing: .unconditional, help: "Seconds a job that failed for a reason of the moment (the CRM database down, a full disk) waits before its next attempt, doubled for each attempt after the first (0: at once; at most \(Int(Worker.maximumWait))).")
    var retryDelay = 30.0

    @Option(parsing: .unconditional, help: .hidden)
    var simulateJobSeconds = 0.0

    func validate() throws {
        guard (1...Worker.maximumConcurrency).contains(concurrency) else {
            throw ValidationError("--concurrency must be from 1 to \(Worker.maximumConcurrency)")
        }
        try Self.check(pollInterval, "--poll-interval", most: Worker.maximumWait, allowingZero: false)
        try Self.check(leaseTimeout, "--lease-timeout", most: Worker.maximumLeaseTimeout, allowingZero: false)
        guard (1...Worker.maximumAttempts).contains(maxAttempts) else {
            throw ValidationError("--max-attempts must be from 1 to \(Worker.maximumAttempts)")
        }
        try Self.check(gracePeriod, "--grace-period", most: Worker.maximumWait, allowingZero: true)
        try Self.check(retryDelay, "--retry-delay", most: Worker.maximumWait, allowingZero: true)
    }

    /// Refuses seconds that are not finite or out of range. The ranges end far below the
    /// waits whose deadlines, in nanoseconds, would overflow (and crash the worker).
    private static func check(_ seconds: Double, _ option: String, most: Double, allowingZero: Bool) throws {
        guard seconds.isFinite, seconds > 0 || (allowingZero && seconds == 0), seconds <= most else {
            let least = allowingZero ? "0 or more seconds" : "a positive number of seconds"
            throw ValidationError("\(option) must be \(least), at most \(Int(most))")
        }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        if concurrency > 1 { MemoryReuse.allowArenaPerThread() }
        // Signals are caught before the queue is opened: a SIGTERM from then on stops the
        // worker, even one that comes before the worker exists.
        let pending = PendingWorker()
        StopSignals.install([SIGTERM, SIGINT]) { pending.stop() }
        let worker = Worker(queue: try queue.open(), concurrency: concurrency,
                            runner: PipelineJobRunner(simulatedSeconds: simulateJobSeconds),
                            pollInterval: pollInterval, leaseTimeout: leaseTimeout, maxAttempts: maxAttempts,
                            drain: drain, gracePeriod: gracePeriod, retryDelay: retryDelay)
        pending.set(worker)
        let summary = worker.run()
        // A job released at shutdown goes on computing on its thread, which nothing can stop
        // from outside. Ending through exit(3) would run the libraries' destructors under it
        // (OpenBLAS frees its buffers while a product is using them: a segmentation fault
        // instead of status 0); _exit ends the process and its threads at once.
        var status: Int32 = 0
        if let reason = summary.cannotClaim {
            FileHandle.standardError.write(Data("Error: the queue was not drained: \(reason)\n".utf8))
            status = 1
        }
        fflush(nil)
        _exit(status)
    }
}

/// The worker a stop request goes to, once it exists; a request that comes first is kept
/// and handed on when it does (`Worker.stop()` before `run()` makes `run()` return at once).
private final class PendingWorker: @unchecked Sendable {
    private let lock = NSLock()
    private var worker: Worker?
    private var stopRequested = false

    func set(_ worker: Worker) {
        lock.lock()
        self.worker = worker
        let stop = stopRequested
        lock.unlock()
        if stop { worker.stop() }
    }

    func stop() {
        lock.lock()
        stopRequested = true
        let worker = self.worker
        lock.unlock()
        worker?.stop()
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List a queue's jobs by state, or show one job.",
        discussion: """
            Without a job id: one line per job — state, age, attempts, id, and the owner of a \
            running or done job or the reason of a failed one. With a job id: its state, attempts, \
            owner, where its result is, and the tail of its log.

            Examples:
              clientele status --queue /srv/clientele/queue
              clientele status --queue /srv/clientele/queue 20261130T084950.123456Z-1a2b3c4d-4242-1
            """)

    @OptionGroup var queue: QueueOption

    @Argument(help: "A job id, to show that job only.")
    var jobID: String?

    func run() throws {
        let queue = try queue.openExisting()
        guard let jobID else {
            let jobs = try queue.jobs()
            print("state     age        attempts  id  (owner or reason)")
            for job in jobs {
                print("\(pad(job.state.rawValue, 9)) \(pad(age(job.age), 10)) \(pad(attempts(job), 9)) \(job.id)\(detail(job))")
            }
            let counts = JobState.allCases.map { state in "\(jobs.filter { $0.state == state }.count) \(state.rawValue)" }
            print(counts.joined(separator: ", "))
            return
        }
        let job = try queue.job(jobID)
        print("job:      \(job.id)")
        print("state:    \(job.state.rawValue)")
        print("age:      \(age(job.age))")
        print("attempts: \(attempts(job))")
        if let lease = job.lease {
            let ago = age(Date().timeIntervalSince1970 - lease.heartbeat)
            print("owner:    \(lease.owner) (pid \(lease.pid) on \(lease.host)), \(job.state == .done ? "finished" : "heartbeat") \(ago) ago")
        }
        if let failure = job.failure {
            print("failure:  \(failure.kind.rawValue): \(failure.what)")
        }
        if let last = job.lastFailure { print("last run: \(last)") }
        if let due = retryDue(job) { print("retry:    \(due)") }
        print("\(job.state == .done ? "result" : "path"):   \(job.path)")
        let tail = queue.logTail(of: job)
        if !tail.isEmpty {
            print("log (last \(tail.count) lines):")
            tail.forEach { print("  \($0)") }
        }
    }

    /// A done job's attempt is the one its result's `lease.json` names; `-` for a result
    /// without one, rather than a 0 that would read as "never ran".
    private func attempts(_ job: JobStatus) -> String {
        job.state == .done && job.lease == nil ? "-" : String(job.attempts)
    }

    private func detail(_ job: JobStatus) -> String {
        if let lease = job.lease { return "  \(lease.owner) (pid \(lease.pid) on \(lease.host))" }
        if let failure = job.failure { return "  \(failure.kind.rawValue): \(failure.what)" }
        if let due = retryDue(job) { return "  retry \(due)" }
        return ""
    }

    /// `in 25s` for a job waiting for its next attempt; `due now` once that time has passed.
    private func retryDue(_ job: JobStatus) -> String? {
        guard let retryAt = job.retryAt else { return nil }
        let wait = retryAt - Date().timeIntervalSince1970
        return wait > 0 ? "in \(age(wait.rounded(.up)))" : "due now"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    /// `42s`, `7m05s`, `3h12m`, `2d04h`.
    private func age(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(two(s / 60 % 60))m" }
        return "\(s / 86400)d\(two(s / 3600 % 24))h"
    }

    private func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
