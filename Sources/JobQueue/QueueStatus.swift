/// What `clientele status` shows: every job by state with its age, attempts and owner, and
/// one job in detail with the tail of its log and where its result is.
///
/// Read without locks from a queue that workers are changing: a job can move between two
/// directory listings, so a list may miss or repeat a job that changed state at that moment.
/// Each entry is still true of the moment it was read.
public enum JobState: String, Sendable, CaseIterable {
    case incoming, running, done, failed
}

public struct JobStatus: Sendable {
    public var id: String
    public var state: JobState
    /// Seconds since submission (from the id), or since the file or directory last changed
    /// for ids not made by `submit`.
    public var age: Double
    /// Runs that ended without a result, plus the current one while running or the one that
    /// made the result when done (0 for a result that does not say: published by a version
    /// before `lease.json`).
    public var attempts: Int
    /// The lease holder while running (`owner`, host, pid) and its last heartbeat; when done,
    /// the lease the result was made under, its heartbeat the time it finished.
    public var lease: Lease?
    /// The job file (incoming, running) or the result or failure directory.
    public var path: String
    public var failure: FailureReport?
    /// For a job in incoming/ put back after a failure of the moment: when its next attempt is
    /// due (seconds since the epoch), and why the last one ended.
    public var retryAt: Double?
    public var lastFailure: String?
}

extension JobQueue {
    /// Every job, by state, oldest first within each state.
    public func jobs() throws -> [JobStatus] {
        var jobs: [JobStatus] = []
        for state in JobState.allCases {
            let names = try QueueFileSystem.names(in: directory(of: state)).sorted()
            for name in names {
                let id: String
                switch state {
                case .incoming, .running:
                    guard name.hasSuffix(".json") else { continue }
                    id = String(name.dropLast(5))
                case .done, .failed:
                    id = name
                }
                // Names a worker will send to failed/ under a new id, or never claim (hidden);
                // and leftovers of a job already done or failed, which recovery removes: the
                // job is in its final state only.
                guard JobID.isValid(id), !(state == .incoming || state == .running) || !isFinished(id) else { continue }
                if let status = status(of: id, in: state) { jobs.append(status) }
            }
        }
        return jobs
    }

    /// One job; throws `QueueError.unknownJob` when no state holds it.
    public func job(_ id: String) throws -> JobStatus {
        try JobID.validate(id)
        // Later states first: a job seen in `done/` is done, whatever leftover a crash left.
        for state in JobState.allCases.reversed() {
            if let status = status(of: id, in: state) { return status }
        }
        throw QueueError.unknownJob(id)
    }

    /// The last `lines` lines of the job's `log.txt` (in `done/<id>/` or `failed/<id>/`).
    public func logTail(of status: JobStatus, lines: Int = 20) -> [String] {
        guard status.state == .done || status.state == .failed,
              let bytes = try? QueueFileSystem.readFile(status.path + "/log.txt", limit: 64 << 20) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .reversed().drop(while: { $0.isEmpty }).prefix(lines).reversed())
    }

    private func directory(of state: JobState) -> String {
        switch state {
        case .incoming: incoming
        case .running: running
        case .done: done
        case .failed: failed
        }
    }

    private func status(of id: String, in state: JobState) -> JobStatus? {
        let path = state == .incoming || state == .running ? "\(directory(of: state))/\(id).json" : "\(directory(of: state))/\(id)"
        guard let facts = QueueFileSystem.facts(path) else { return nil }
        var status = JobStatus(id: id, state: state, age: now() - (JobID.submissionTime(of: id) ?? facts.modified),
                               attempts: 0, lease: nil, path: path, failure: nil, retryAt: nil, lastFailure: nil)
        switch state {
        case .incoming:
            let record = readAttemptRecord(id)
            status.attempts = record?.attempts ?? 0
            status.retryAt = record?.retryAt
            status.lastFailure = record?.history.last
        case .running:
            status.lease = readLease(id)
            status.attempts = status.lease?.attempt ?? 0
        case .failed:
            status.failure = (try? QueueFileSystem.readFile(path + "/error.json", limit: 1 << 20))?
                .flatMap { QueueJSON.decode(FailureReport.self, from: $0) }
            status.attempts = status.failure?.attempt ?? 0
        case .done:
            status.lease = readLease(id, at: path + "/" + JobQueue.resultLeaseName)
            status.attempts = status.lease?.attempt ?? 0
        }
        return status
    }
}
