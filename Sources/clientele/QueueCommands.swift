/// `clientele submit`, `clientele worker` and `clientele status`: the queue of design.md
/// from the command line, and the runner the worker uses until the job pipeline exists.
///
/// The commands only compose `JobQueue` calls. Two things here are placeholders with a fixed
/// seam: `JobFileCheck` (what `submit` refuses; the pipeline replaces it with the full job
/// validation) and `JobFileCopyRunner` (what a worker does with a job; the pipeline plugs in
/// its own `JobRunner`).
import ArgumentParser
import Dispatch
import Foundation
import JobQueue
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct QueueOption: ParsableArguments {
    @Option(help: "The queue directory (created if missing).")
    var queue: String

    func open() throws -> JobQueue {
        try JobQueue(at: queue)
    }
}

/// The checks a job file passes before it enters the queue, and again when a worker runs it
/// (files can reach `incoming/` without `submit`). For now: a JSON object. The job pipeline
/// replaces this with the full validation of design.md's job file (unknown keys, types, the
/// transaction file).
enum JobFileCheck {
    static func validate(_ bytes: [UInt8], file: String) throws(JobFailure) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
            guard let offset = characterOffset(in: detail) else {
                throw JobFailure("\(file): not valid JSON: \(detail)", where: JobErrorLocation(file: file))
            }
            let (line, column) = lineAndColumn(of: offset, in: bytes)
            throw JobFailure("\(file):\(line):\(column): not valid JSON: \(detail)",
                             where: JobErrorLocation(file: file, line: line, column: column))
        }
        guard object is [String: Any] else {
            throw JobFailure("\(file): a job file must be a JSON object ({...})", where: JobErrorLocation(file: file, keyPath: ""))
        }
    }

    /// The 0-based byte offset Foundation's parser reports ("… around character 9.").
    private static func characterOffset(in message: String) -> Int? {
        guard let range = message.range(of: "character ") else { return nil }
        return Int(message[range.upperBound...].prefix(while: \.isNumber))
    }

    /// 1-based line and column (in bytes) of a byte offset.
    private static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        let before = bytes.prefix(min(offset, bytes.count))
        let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return (line, offset - lineStart + 1)
    }
}

/// The runner a worker uses until the job pipeline (`clientele run`) plugs in its own: it
/// checks the job with `JobFileCheck`, and its result directory holds the job as `job.json`
/// and a `log.txt` saying what ran.
struct JobFileCopyRunner: JobRunner {
    /// Seconds each job takes (a hidden worker option, to exercise shutdown and crashes).
    var simulatedSeconds = 0.0

    func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
        try JobFileCheck.validate(job.bytes, file: "\(job.id).json")
        if simulatedSeconds > 0 { Thread.sleep(forTimeInterval: simulatedSeconds) }
        try Data(job.bytes).write(to: URL(fileURLWithPath: result + "/job.json"))
        let log = "job \(job.id), attempt \(job.attempt): job file checked and copied (\(job.bytes.count) bytes)\n"
        try Data(log.utf8).write(to: URL(fileURLWithPath: result + "/log.txt"))
        context.logger.info("job file copied", metadata: ["bytes": "\(job.bytes.count)"])
    }
}

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Put a job file into a queue; prints the job id.",
        discussion: """
            The job file is checked first (a JSON object of at most 1 MiB) and refused with \
            the reason if it does not pass; otherwise it enters QUEUE/incoming/ whole.

            Example:
              clientele submit jobs/cdnow.json --queue /srv/clientele/queue
            """)

    @Argument(help: "The job file (JSON).")
    var job: String

    @OptionGroup var queue: QueueOption

    func run() throws {
        let id = try queue.open().submit(fileAt: job) { bytes, path in try JobFileCheck.validate(bytes, file: path) }
        print(id)
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

    @Option(help: "Jobs run at once.")
    var concurrency = 1

    @Flag(help: "Exit once the queue has nothing left for this worker.")
    var drain = false

    @Option(help: "Seconds between looks at the queue (inotify wakes the worker sooner on a local disk).")
    var pollInterval = 1.0

    @Option(help: "Seconds without a heartbeat after which another host's job counts as abandoned.")
    var leaseTimeout = 60.0

    @Option(help: "Runs a job may have before it is moved to failed/ as a poison job.")
    var maxAttempts = 3

    @Option(help: "Seconds running jobs get to finish after SIGTERM or SIGINT.")
    var gracePeriod = 30.0

    @Option(help: .hidden)
    var simulateJobSeconds = 0.0

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be 1 or more") }
        guard pollInterval > 0, pollInterval.isFinite else { throw ValidationError("--poll-interval must be a positive number of seconds") }
        guard leaseTimeout > 0, leaseTimeout.isFinite else { throw ValidationError("--lease-timeout must be a positive number of seconds") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be 1 or more") }
        guard gracePeriod >= 0, gracePeriod.isFinite else { throw ValidationError("--grace-period must be 0 or more seconds") }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let worker = Worker(queue: try queue.open(), concurrency: concurrency,
                            runner: JobFileCopyRunner(simulatedSeconds: simulateJobSeconds),
                            pollInterval: pollInterval, leaseTimeout: leaseTimeout, maxAttempts: maxAttempts,
                            drain: drain, gracePeriod: gracePeriod)
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.stop() }
            source.resume()
            return source
        }
        _ = try worker.run()
        signals.forEach { $0.cancel() }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List a queue's jobs by state, or show one job.",
        discussion: """
            Without a job id: one line per job — state, id, age, attempts, and the owner of a \
            running job or the reason of a failed one. With a job id: its state, attempts, \
            owner, where its result is, and the tail of its log.

            Examples:
              clientele status --queue /srv/clientele/queue
              clientele status --queue /srv/clientele/queue 20261130T084950.123456Z-1a2b3c4d-4242-1
            """)

    @OptionGroup var queue: QueueOption

    @Argument(help: "A job id, to show that job only.")
    var jobID: String?

    func run() throws {
        let queue = try queue.open()
        guard let jobID else {
            let jobs = try queue.jobs()
            print("state     age        attempts  id  (owner or reason)")
            for job in jobs {
                print("\(pad(job.state.rawValue, 9)) \(pad(age(job.age), 10)) \(pad(String(job.attempts), 9)) \(job.id)\(detail(job))")
            }
            let counts = JobState.allCases.map { state in "\(jobs.filter { $0.state == state }.count) \(state.rawValue)" }
            print(counts.joined(separator: ", "))
            return
        }
        let job = try queue.job(jobID)
        print("job:      \(job.id)")
        print("state:    \(job.state.rawValue)")
        print("age:      \(age(job.age))")
        print("attempts: \(job.attempts)")
        if let lease = job.lease {
            print("owner:    \(lease.owner) (pid \(lease.pid) on \(lease.host)), heartbeat \(age(Date().timeIntervalSince1970 - lease.heartbeat)) ago")
        }
        if let failure = job.failure {
            print("failure:  \(failure.kind.rawValue): \(failure.what)")
        }
        print("\(job.state == .done ? "result" : "path"):   \(job.path)")
        let tail = queue.logTail(of: job)
        if !tail.isEmpty {
            print("log (last \(tail.count) lines):")
            tail.forEach { print("  \($0)") }
        }
    }

    private func detail(_ job: JobStatus) -> String {
        if let lease = job.lease { return "  \(lease.owner) (pid \(lease.pid) on \(lease.host))" }
        if let failure = job.failure { return "  \(failure.kind.rawValue): \(failure.what)" }
        return ""
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
