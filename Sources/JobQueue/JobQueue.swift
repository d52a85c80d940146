/// The directory queue of design.md ("Queue directory"): submission, claim, the end of a run
/// (result published, job failed, job put back) — each one a `rename(2)` inside the queue.
///
/// ```
/// QUEUE/incoming/<id>.json      submitted jobs (the user's file, byte for byte)
/// QUEUE/incoming/<id>.attempts  runs of a requeued job that ended without a result, why, and when the next is due
/// QUEUE/running/<id>.json       claimed jobs
/// QUEUE/running/<id>.lease      their leases (owner, host, boot, pid, attempt, heartbeat)
/// QUEUE/done/<id>/              result directories, with lease.json: the lease they were made under
/// QUEUE/failed/<id>/            job.json, error.json (and log.txt when the run wrote one)
/// QUEUE/tmp/<id>.<what>.<owner> staging, never read by consumers
/// ```
///
/// How it follows Maildir (tmp/new/cur): a job is written whole into `tmp/` under a name no
/// other process can choose, flushed, and renamed into `incoming/` (Maildir's delivery into
/// `new/`), so a reader never sees a partial job; claiming is a rename from `incoming/` to
/// `running/` (Maildir's `new/` → `cur/`), which only one process can win: the losers' rename
/// fails with ENOENT. Where it departs: Maildir delivers with `link()` + `unlink()` to be safe
/// on old NFS; here `rename()` is enough (it is atomic on the filesystems the queue runs on)
/// and costs one system call less. Maildir's readers do not "process" a message, so it has no
/// notion of a reader that dies holding one; the lease and recovery (see `Recovery.swift`)
/// fill that gap. Maildir's tmp cleanup (files untouched for 36 hours) becomes: staging
/// entries carry their owner's id, so those of a dead owner go at once.
///
/// How it follows Directory::Queue: one file (Simple) or directory (Normal) per element, a
/// lock that is an atomic filesystem operation, and `purge()` of stale locks and temporary
/// elements. Where it departs: Directory::Queue locks in place (`mkdir locked/` in Normal,
/// `link(elt, elt.lck)` in Simple) and leaves the element among the unlocked ones, so every
/// consumer must try every lock; here the claim moves the job out of `incoming/`, so a scan of
/// `incoming/` only sees claimable jobs, and the per-state directories are the status. Its
/// stale-lock purge goes by age alone; the lease here also carries the pid and a heartbeat.
///
/// Hazards: all of QUEUE must be one filesystem (renames and hard links stay inside it); files
/// must reach `incoming/` by rename (`submit` does), never by a copy that a worker could see
/// half-written.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Files

public struct JobQueue: Sendable {
    /// The largest job file the queue accepts (a job names its data; it does not carry it).
    public static let maximumJobFileSize = 1 << 20

    public let root: String
    public var incoming: String { root + "/incoming" }
    public var running: String { root + "/running" }
    public var done: String { root + "/done" }
    public var failed: String { root + "/failed" }
    public var tmp: String { root + "/tmp" }

    /// Opens the queue at `root`, creating it and its five directories if missing.
    public init(at root: String) throws {
        self.init(root: root)
        try QueueFileSystem.makeDirectory(self.root)
        for name in Self.directoryNames { try QueueFileSystem.makeDirectory("\(self.root)/\(name)") }
    }

    /// Opens the queue at `root` only if it is one: a directory holding the five
    /// directories. Nothing is created, so that a mistyped path is refused rather than shown
    /// as an empty queue that looking at it made.
    public init(existingAt root: String) throws {
        self.init(root: root)
        guard let facts = QueueFileSystem.facts(self.root, followingLinks: true) else {
            throw QueueError.notAQueue(self.root, "no such directory")
        }
        guard facts.isDirectory else { throw QueueError.notAQueue(self.root, "not a directory") }
        let missing = Self.directoryNames.filter {
            QueueFileSystem.facts("\(self.root)/\($0)", followingLinks: true)?.isDirectory != true
        }
        guard missing.isEmpty else {
            throw QueueError.notAQueue(self.root, "it has no \(missing.map { "\($0)/" }.joined(separator: ", "))")
        }
    }

    private init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    private static let directoryNames = ["incoming", "running", "done", "failed", "tmp"]

    func runningJob(_ id: String) -> String { "\(running)/\(id).json" }
    func leasePath(_ id: String) -> String { "\(running)/\(id).lease" }
    func attemptsPath(_ id: String) -> String { "\(incoming)/\(id).attempts" }
    func staging(_ id: String, _ what: String, _ identity: WorkerIdentity) -> String {
        "\(tmp)/\(id).\(what).\(identity.owner)"
    }

    /// Whether the job already has its final directory (`done/<id>/` or `failed/<id>/`): a
    /// copy of it found in `running/` afterwards is a leftover of a crash, not work to do.
    func isFinished(_ id: String) -> Bool {
        QueueFileSystem.exists("\(done)/\(id)") || QueueFileSystem.exists("\(failed)/\(id)")
    }

    // MARK: Submission

    /// Puts a job into the queue and returns its id: the bytes go to `tmp/`, are flushed,
    /// and are renamed into `incoming/` (then the directory is flushed), so the job appears
    /// whole or not at all.
    public func submit(_ job: [UInt8], identity: WorkerIdentity = .current) throws -> String {
        guard job.count <= Self.maximumJobFileSize else {
            throw QueueError.refused("job", "is \(job.count) bytes; a job file may be at most \(Self.maximumJobFileSize) bytes")
        }
        let id = JobID.make(identity: identity)
        let staged = staging(id, "job", identity)
        try QueueFileSystem.createDurableFile(job, at: staged)
        guard rename(staged, "\(incoming)/\(id).json") == 0 else {
            let reason = QueueFileSystem.reason()
            unlink(staged)
            throw QueueError.fileSystem("\(incoming)/\(id).json", "cannot submit: \(reason)")
        }
        FileTree.syncDirectory(incoming)
        return id
    }

    /// Reads a job file for `submit`: refuses one larger than the limit before reading it,
    /// then lets `validate` (the job's own checks) refuse it before it enters the queue.
    public func submit(fileAt path: String, identity: WorkerIdentity = .current,
                       validate: ([UInt8], String) throws -> Void) throws -> String {
        guard let facts = QueueFileSystem.facts(path, followingLinks: true) else {
            throw QueueError.refused(path, "no such file")
        }
        guard !facts.isDirectory else { throw QueueError.refused(path, "is a directory, not a job file") }
        guard facts.size <= Self.maximumJobFileSize else {
            throw QueueError.refused(path, "is \(facts.size) bytes; a job file may be at most \(Self.maximumJobFileSize) bytes")
        }
        guard let bytes = try QueueFileSystem.readFile(path, limit: Self.maximumJobFileSize, followingLinks: true) else {
            throw QueueError.refused(path, "no such file")
        }
        try validate(bytes, path)
        return try submit(bytes, identity: identity)
    }

    // MARK: Claim

    /// The entries of `incoming/` a worker may try to claim, oldest id first: job files
    /// (`<id>.json`) and anything else that is not a sidecar or a hidden file — those cannot
    /// be jobs, and claiming them sends them to `failed/` with the reason. A job whose retry
    /// is not yet due (`AttemptRecord.retryAt`) is left out and counted in `waitingToRetry`.
    public func listIncoming() throws -> (candidates: [String], waitingToRetry: Int) {
        let names = try QueueFileSystem.names(in: incoming)
        let clock = now()
        var sidecars: [String] = [], others: [String] = []
        for name in names {
            let id = name.hasSuffix(".attempts") ? String(name.dropLast(9)) : ""
            if JobID.isValid(id) { sidecars.append(id) } else if !name.hasPrefix(".") { others.append(name) }
        }
        let waiting = Set(sidecars.filter { (readAttemptRecord($0)?.retryAt ?? 0) > clock }.map { "\($0).json" })
        let candidates = others.filter { !waiting.contains($0) }.sorted()
        return (candidates, others.count - candidates.count)
    }

    func readAttemptRecord(_ id: String) -> AttemptRecord? {
        (try? QueueFileSystem.readFile(attemptsPath(id), limit: 1 << 20))?.flatMap { QueueJSON.decode(AttemptRecord.self, from: $0) }
    }

    /// Claims the entry `name` of `incoming/` by renaming it into `running/` and writing the
    /// lease; nil when another worker won it. An entry whose name is not `<valid id>.json`
    /// is claimed under a new id and marked `invalidName`, for the caller to fail it.
    public func claim(_ name: String, as identity: WorkerIdentity) throws -> Claim? {
        var id = name.hasSuffix(".json") ? String(name.dropLast(5)) : ""
        var invalidName: String?
        if !JobID.isValid(id) {
            invalidName = name
            id = JobID.make(identity: identity)
        }
        guard try QueueFileSystem.renameIfPresent("\(incoming)/\(name)", runningJob(id)) else { return nil }
        if isFinished(id) {
            // Put back by a recoverer that judged a slow run lost, after that run published:
            // the result exists, so the job is not run again.
            FileTree.removeTree(runningJob(id))
            unlink(attemptsPath(id))
            return nil
        }
        // The attempt record is read only after the rename is won: from here on this process
        // alone acts for the job, so the sidecar cannot change under it.
        let record = try QueueFileSystem.readFile(attemptsPath(id), limit: Self.maximumJobFileSize)
            .flatMap { QueueJSON.decode(AttemptRecord.self, from: $0) }
        let lease = Lease(job: id, identity: identity, attempt: (record?.attempts ?? 0) + 1,
                          history: record?.history ?? [], now: now())
        try writeLease(lease, identity: identity)
        if record != nil { unlink(attemptsPath(id)) }
        return Claim(id: id, jobFile: runningJob(id), attempt: lease.attempt, history: lease.history,
                     invalidName: invalidName, claimedAt: lease.claimedAt)
    }

    /// Replaces `running/<id>.lease` by way of `tmp/` (write, rename), so a reader never sees
    /// a partial lease. Not flushed: a lease lost or emptied by a power cut makes its job
    /// look abandoned, and recovery puts it back (after the timeout, as for any lease without
    /// a readable heartbeat) — two fsyncs per claim saved for an outcome that is safe anyway.
    func writeLease(_ lease: Lease, identity: WorkerIdentity) throws {
        let staged = staging(lease.job, "lease", identity)
        unlink(staged)
        try QueueFileSystem.createDurableFile(try QueueJSON.encode(lease), at: staged, flush: false)
        guard rename(staged, leasePath(lease.job)) == 0 else {
            let reason = QueueFileSystem.reason()
            unlink(staged)
            throw QueueError.fileSystem(leasePath(lease.job), "cannot write the lease: \(reason)")
        }
    }

    /// The lease as it is on disk now; nil when missing or unreadable.
    func readLease(_ id: String, at path: String? = nil) -> Lease? {
        (try? QueueFileSystem.readFile(path ?? leasePath(id), limit: 1 << 20))?
            .flatMap { QueueJSON.decode(Lease.self, from: $0) }
    }

    /// Renews the lease of a running claim (the heartbeat). Returns false when the job is no
    /// longer this owner's: another worker's lease stands in its place, or the job has left
    /// `running/` (recovered as abandoned). A lease briefly missing while a recoverer
    /// examines it is written again.
    public func renew(_ claim: Claim, as identity: WorkerIdentity) -> Bool {
        if let current = readLease(claim.id) {
            guard current.owner == identity.owner else { return false }
        } else if !QueueFileSystem.exists(claim.jobFile) {
            return false
        }
        var lease = Lease(job: claim.id, identity: identity, attempt: claim.attempt, history: claim.history, now: now())
        lease.claimedAt = claim.claimedAt
        return (try? writeLease(lease, identity: identity)) != nil
    }

    /// Whether this owner still holds the job, so that it may remove it from `running/`.
    func holds(_ claim: Claim, as identity: WorkerIdentity) -> Bool {
        guard let lease = readLease(claim.id) else { return QueueFileSystem.exists(claim.jobFile) }
        return lease.owner == identity.owner
    }

    /// Removes a finished job from `running/` if this owner still holds it. Not flushed:
    /// its final directory is already on disk, so a removal undone by a power cut leaves a
    /// leftover that recovery removes without running the job.
    func clearRunning(_ claim: Claim, as identity: WorkerIdentity) {
        guard holds(claim, as: identity) else { return }
        unlink(claim.jobFile)
        unlink(leasePath(claim.id))
    }

    // MARK: End of a run

    /// The staging directory where a run builds its result: `tmp/<id>.result.<owner>/`,
    /// created empty.
    public func resultStaging(for claim: Claim, as identity: WorkerIdentity) throws -> String {
        let path = staging(claim.id, "result", identity)
        FileTree.removeTree(path)
        guard mkdir(path, 0o755) == 0 else {
            throw QueueError.fileSystem(path, "cannot create the result directory: \(QueueFileSystem.reason())")
        }
        return path
    }

    /// The file of a result directory that holds the lease of the run that made it.
    public static let resultLeaseName = "lease.json"

    public enum Publication: Sendable, Equatable {
        /// The result is now `done/<id>/`.
        case published
        /// `done/<id>/` already held a result (a run of an attempt thought lost finished
        /// first); this one was discarded.
        case alreadyDone
    }

    /// Publishes a finished run: adds `lease.json` (who made the result, in which attempt,
    /// its heartbeat the time it finished), flushes the staged result, renames it to
    /// `done/<id>/`, flushes `done/`, and removes the job from `running/`. The rename is the
    /// moment the job is done; a crash before it leaves the job in `running/` for recovery, a
    /// crash after it leaves a leftover that recovery removes without running the job again.
    public func publish(_ claim: Claim, result staged: String, as identity: WorkerIdentity) throws -> Publication {
        var lease = Lease(job: claim.id, identity: identity, attempt: claim.attempt, history: claim.history, now: now())
        lease.claimedAt = claim.claimedAt
        let record = staged + "/" + Self.resultLeaseName
        unlink(record)
        try QueueFileSystem.createDurableFile(try QueueJSON.encode(lease), at: record, flush: false)
        try QueueFileSystem.syncTree(staged)
        let target = "\(done)/\(claim.id)"
        var outcome = Publication.published
        if rename(staged, target) != 0 {
            guard errno == ENOTEMPTY || errno == EEXIST else {
                throw QueueError.fileSystem(target, "cannot publish the result: \(QueueFileSystem.reason())")
            }
            FileTree.removeTree(staged)
            outcome = .alreadyDone
        }
        FileTree.syncDirectory(done)
        clearRunning(claim, as: identity)
        return outcome
    }

    /// Sends a job to `failed/<id>/`: its file (hard-linked, so even a huge one costs no
    /// copy), `error.json`, and the run's `log.txt` if `result` holds one, staged in `tmp/`
    /// and renamed in whole. The job leaves `running/` only after `failed/<id>/` exists.
    public func fail(_ claim: Claim, report: FailureReport, result: String?, as identity: WorkerIdentity) throws {
        try moveToFailed(id: claim.id, jobFile: claim.jobFile, report: report, log: result.map { $0 + "/log.txt" },
                         identity: identity)
        if let result { FileTree.removeTree(result) }
        clearRunning(claim, as: identity)
    }

    /// Builds `failed/<id>/` in `tmp/` and renames it into place. A regular job file is
    /// hard-linked (copied on a file system without hard links) and leaves `running/` later;
    /// anything else found under the job's name (a directory, a FIFO, a device, a symbolic
    /// link) is never opened: it is moved into the failure directory itself — a directory
    /// cannot be hard-linked, and a FIFO would block whoever opened it — and moved back if
    /// the failure cannot be written.
    func moveToFailed(id: String, jobFile: String, report: FailureReport, log: String?, identity: WorkerIdentity) throws {
        let staged = staging(id, "failed", identity)
        FileTree.removeTree(staged)
        try QueueFileSystem.makeDirectory(staged)
        let kept = staged + "/job.json"
        var moved = false
        do {
            if QueueFileSystem.facts(jobFile)?.isRegularFile ?? true {
                if link(jobFile, kept) != 0 {
                    let reason = QueueFileSystem.reason()
                    do {
                        try QueueFileSystem.copyFile(jobFile, to: kept)
                    } catch {
                        throw QueueError.fileSystem(jobFile, "cannot keep the job file: \(reason)")
                    }
                }
            } else {
                guard rename(jobFile, kept) == 0 else {
                    throw QueueError.fileSystem(jobFile, "cannot keep the job file: \(QueueFileSystem.reason())")
                }
                moved = true
            }
            try QueueFileSystem.createDurableFile(try QueueJSON.encode(report), at: staged + "/error.json")
            if let log, QueueFileSystem.exists(log) { rename(log, staged + "/log.txt") }
            try QueueFileSystem.syncTree(staged)
            if rename(staged, "\(failed)/\(id)") != 0 {
                guard errno == ENOTEMPTY || errno == EEXIST else {
                    throw QueueError.fileSystem("\(failed)/\(id)", "cannot move the job: \(QueueFileSystem.reason())")
                }
                FileTree.removeTree(staged)
            }
            FileTree.syncDirectory(failed)
        } catch {
            if moved { rename(kept, jobFile) }
            FileTree.removeTree(staged)
            throw error
        }
    }

    /// Puts a claimed job back into `incoming/` with `attempts` runs counted (its attempt, or
    /// one less when the run is given back at shutdown), recording `reason`; `retryAt`: no
    /// worker claims it before then. Returns false, doing nothing, when this owner no longer
    /// holds the job (another worker judged it abandoned and took it over).
    @discardableResult
    public func requeue(_ claim: Claim, attemptsCounted attempts: Int, reason: String?, retryAt: Double? = nil,
                        as identity: WorkerIdentity) throws -> Bool {
        guard holds(claim, as: identity) else { return false }
        // The lease goes first: once the job is back in `incoming/` it may be claimed at
        // once, and the new holder's lease must not be the one removed. Touching the job
        // file's ctime first keeps recoverers from taking the job for one whose claimant died
        // before its lease (they wait a whole timeout from the ctime); a crash in between
        // leaves exactly such a job, which recovery then handles.
        chmod(claim.jobFile, 0o644)
        unlink(leasePath(claim.id))
        try moveToIncoming(id: claim.id, record: AttemptRecord(attempts: attempts, history: claim.history + (reason.map { [$0] } ?? []),
                                                               retryAt: retryAt),
                           identity: identity)
        return true
    }

    /// Writes `incoming/<id>.attempts` by way of `tmp/` (write, flush, rename).
    func writeAttemptRecord(_ record: AttemptRecord, id: String, identity: WorkerIdentity) throws {
        let staged = staging(id, "attempts", identity)
        unlink(staged)
        try QueueFileSystem.createDurableFile(try QueueJSON.encode(record), at: staged)
        guard rename(staged, attemptsPath(id)) == 0 else {
            let reason = QueueFileSystem.reason()
            unlink(staged)
            throw QueueError.fileSystem(attemptsPath(id), "cannot record the attempt: \(reason)")
        }
    }

    /// Writes the attempt record (when there is anything to record) and then renames the job
    /// back, so that whoever claims it next finds the record already there.
    func moveToIncoming(id: String, record: AttemptRecord, identity: WorkerIdentity) throws {
        if record.attempts > 0 || !record.history.isEmpty {
            try writeAttemptRecord(record, id: id, identity: identity)
        } else {
            unlink(attemptsPath(id))
        }
        // Gone means a recoverer put it back first.
        guard try QueueFileSystem.renameIfPresent(runningJob(id), "\(incoming)/\(id).json") else { return }
        FileTree.syncDirectory(incoming)
        FileTree.syncDirectory(running)
    }

    func report(_ id: String, _ kind: FailureReport.Kind, _ what: String, where location: JobErrorLocation? = nil,
                attempt: Int, maxAttempts: Int, history: [String], identity: WorkerIdentity) -> FailureReport {
        FailureReport(job: id, kind: kind, what: what, where: location, attempt: attempt, maxAttempts: maxAttempts,
                      owner: identity.owner, host: identity.host, pid: identity.pid, failedAt: now(), history: history)
    }

    /// A failure report for a claim, by this owner. The runner saw the job at
    /// `running/<id>.json`, which it leaves as it fails: the report names where the job is
    /// kept from then on, `failed/<id>/job.json`, in its location and its text.
    public func report(for claim: Claim, _ kind: FailureReport.Kind, _ what: String, where location: JobErrorLocation? = nil,
                       maxAttempts: Int, as identity: WorkerIdentity) -> FailureReport {
        let kept = "\(failed)/\(claim.id)/job.json"
        var location = location
        if location?.file == claim.jobFile { location?.file = kept }
        return report(claim.id, kind, what.replacingOccurrences(of: claim.jobFile, with: kept), where: location,
                      attempt: claim.attempt, maxAttempts: maxAttempts, history: claim.history, identity: identity)
    }
}

/// A job this process claimed.
public struct Claim: Sendable, Equatable {
    public let id: String
    /// `running/<id>.json`: the user's job file.
    public let jobFile: String
    public let attempt: Int
    /// Why earlier attempts ended.
    public let history: [String]
    /// The name the entry had in `incoming/` when it was not `<valid id>.json`.
    public let invalidName: String?
    let claimedAt: Double
}

/// Seconds since the epoch.
func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
