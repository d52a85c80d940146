/// What the worker asks of the code that runs a job — the seam where the job pipeline plugs
/// into the queue, which itself never looks inside a job.
import Logging
import Synchronization

/// Runs one job: reads the job, writes the result files into `result` (an empty directory in
/// the queue's `tmp/`, which the worker publishes as `done/<id>/` when `run` returns).
///
/// Throw `JobFailure` when the job itself is wrong (bad data, bad parameters): it goes to
/// `failed/<id>/` and is not retried. Any other error is taken as a fault of the moment (a
/// full disk, a lost mount): the job is put back and retried until its attempts run out.
public protocol JobRunner: Sendable {
    func run(_ job: QueuedJob, into result: String, context: JobContext) throws
}

/// A claimed job as the runner sees it.
public struct QueuedJob: Sendable {
    public let id: String
    /// The job file's bytes (at most `JobQueue.maximumJobFileSize`).
    public let bytes: [UInt8]
    /// Where the job file is while it runs (`running/<id>.json`), for messages.
    public let path: String
    /// 1 on the first run.
    public let attempt: Int
}

/// The job's own fault, with where it was found: file, line, column or key path.
public struct JobFailure: Error, CustomStringConvertible, Sendable {
    public let what: String
    public let location: JobErrorLocation?

    public init(_ what: String, where location: JobErrorLocation? = nil) {
        self.what = what
        self.location = location
    }

    public var description: String { what }
}

/// What a running job may consult: its logger (the job id is in its metadata) and whether
/// the worker is shutting down, so that a long job can stop early.
public final class JobContext: Sendable {
    public let logger: Logger
    private let stopping = Atomic<Bool>(false)

    init(logger: Logger) {
        self.logger = logger
    }

    /// True once the worker was asked to stop: a run that ends now without a result is put
    /// back for another worker without counting the attempt.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    func markStopping() { stopping.store(true, ordering: .relaxed) }
}
