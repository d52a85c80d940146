/// Recovery of abandoned jobs and purge of abandoned staging files — the queue's answer to a
/// worker that dies holding a job.
///
/// A lease is abandoned when
/// - its pid is gone and it was taken on this machine since its last boot (`kill(pid, 0)`
///   answers ESRCH): at once;
/// - it names this process's pid under another owner id (a predecessor whose pid was
///   recycled for this worker): at once;
/// - otherwise when both its heartbeat (the holder's clock) and its file's mtime (the file
///   server's clock) are older than the lease timeout — both, so that clock skew between
///   hosts can delay a recovery but never hasten one.
///
/// Recoverers race each other, so each recovery starts by *taking* the lease: renaming
/// `running/<id>.lease` to `running/<id>.recovering.<owner>`. One rename wins; the others get
/// ENOENT and leave the job alone. The winner reads the lease it took — the latest one, since a
/// renewal replaces the file — and if that one is not abandoned after all, links it back
/// (`link` fails if the holder has meanwhile written a newer one, which then stands) and stops.
/// Otherwise the winner alone decides the job's fate: removed (its result already exists),
/// failed as poison (no attempts left), or renamed back to `incoming/` with its attempt record.
///
/// Crashes in the middle are covered by one more rule: a job in `running/` without a lease —
/// its claimant died between the claim rename and the lease, or its recoverer died holding the
/// taken lease — is given a lease again once its file's ctime (set by the rename that put it
/// there) is older than the timeout: the taken lease if there is one, otherwise one for the next
/// attempt with no owner alive. It is then recovered as above. Leases without a job (their job
/// finished or was put back while the holder was still renewing) are removed the same way.
///
/// This is Directory::Queue's `purge(maxlock, maxtemp)` with the pid and the heartbeat added.
/// What it cannot prevent: a holder that is alive but silent for longer than the timeout (a
/// stopped process, a partitioned host) is judged abandoned, and its job may run a second time
/// elsewhere; the second result is discarded when it finds `done/<id>/` taken, so each job is
/// still done exactly once. Choose the lease timeout well above the heartbeat interval
/// (the worker renews every timeout / 4).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files

public struct RecoveryPolicy: Sendable {
    public var leaseTimeout: Double
    public var maxAttempts: Int

    public init(leaseTimeout: Double, maxAttempts: Int) {
        self.leaseTimeout = leaseTimeout
        self.maxAttempts = maxAttempts
    }
}

/// What one recovery pass did.
public struct RecoveryPass: Sendable {
    public var events: [RecoveryEvent] = []
    /// Jobs in `running/` without a readable lease that are not yet old enough to be judged:
    /// a claim in progress, a claimant that died before writing its lease, or a lease left
    /// empty or garbled (a power cut before it reached the disk). A draining worker waits for
    /// them.
    public var waitingForRecovery = 0
    /// Jobs this pass could not recover (a full disk, say), with the reason; their leases
    /// stand, and the next pass tries again.
    public var errors: [String] = []
}

/// What a recovery pass did to one job.
public struct RecoveryEvent: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Put back into `incoming/` with this many attempts counted.
        case requeued(attempts: Int)
        /// Sent to `failed/` after its last allowed attempt.
        case poisoned(attempts: Int)
        /// Its result already existed; the leftover in `running/` was removed.
        case alreadyFinished
    }

    public var job: String
    public var action: Action
    public var reason: String
}

extension JobQueue {
    /// One pass over `running/` and `tmp/`: recovers abandoned jobs and removes abandoned
    /// staging entries. Safe to run from any number of workers at once.
    public func recoverAbandoned(policy: RecoveryPolicy, as identity: WorkerIdentity) throws -> RecoveryPass {
        let names = try QueueFileSystem.names(in: running)
        var jobs = Set<String>(), leases = Set<String>(), taken: [String: [String]] = [:]
        for name in names {
            if name.hasSuffix(".json") {
                jobs.insert(String(name.dropLast(5)))
            } else if name.hasSuffix(".lease") {
                leases.insert(String(name.dropLast(6)))
            } else if let marker = name.range(of: ".recovering.") {
                taken[String(name[..<marker.lowerBound]), default: []].append("\(running)/\(name)")
            }
        }
        let clock = now()
        var pass = RecoveryPass()
        for id in jobs.union(leases).union(taken.keys).sorted() {
            if !leases.contains(id) {
                guard reinstateLease(id, hasJob: jobs.contains(id), taken: taken[id] ?? [], policy: policy,
                                     identity: identity, clock: clock) else {
                    if jobs.contains(id) { pass.waitingForRecovery += 1 }
                    continue
                }
            }
            do {
                switch try recover(id, policy: policy, identity: identity, clock: clock) {
                case .recovered(let event): pass.events.append(event)
                case .waiting: if jobs.contains(id) { pass.waitingForRecovery += 1 }
                case .held: break
                }
            } catch {
                pass.errors.append("\(id): \(error)")
            }
        }
        purgeStaging(policy: policy, identity: identity, clock: clock)
        return pass
    }

    /// Gives a lease back to a job that has none, once its file has sat in `running/` for a
    /// whole timeout; removes taken leases whose job is gone. True when `id` now has a lease
    /// to judge.
    private func reinstateLease(_ id: String, hasJob: Bool, taken: [String], policy: RecoveryPolicy,
                                identity: WorkerIdentity, clock: Double) -> Bool {
        let stale = { (path: String) in (QueueFileSystem.facts(path)?.changed ?? clock) < clock - policy.leaseTimeout }
        guard hasJob else {
            for path in taken where stale(path) { unlink(path) }
            return false
        }
        guard stale(runningJob(id)) else { return false }
        if let path = taken.first(where: stale) {
            link(path, leasePath(id))
            unlink(path)
            return true
        }
        guard taken.isEmpty else { return false }
        let record = readAttemptRecord(id)
        var orphan = Lease(job: id, identity: identity, attempt: (record?.attempts ?? 0) + 1,
                           history: record?.history ?? [], now: 0)
        orphan.owner = "none"
        orphan.pid = 0
        orphan.history.append("attempt \(orphan.attempt): the claimant died before writing its lease")
        let staged = staging(id, "lease", identity)
        unlink(staged)
        guard let bytes = try? QueueJSON.encode(orphan), (try? QueueFileSystem.createDurableFile(bytes, at: staged)) != nil else {
            return false
        }
        // link, not rename: if a lease appeared meanwhile, it wins.
        link(staged, leasePath(id))
        unlink(staged)
        return true
    }

    /// Why a lease is abandoned, or nil while its holder may still be alive.
    func abandonment(of lease: Lease?, leaseFile: String, policy: RecoveryPolicy, identity: WorkerIdentity,
                     clock: Double) -> String? {
        let modified = QueueFileSystem.facts(leaseFile)?.modified ?? 0
        guard let lease else {
            return modified < clock - policy.leaseTimeout ? "its lease is unreadable and older than the timeout" : nil
        }
        if lease.owner == identity.owner { return nil }
        // A lease given to a job found without one: abandoned by construction, and its file
        // is new, so its mtime says nothing.
        if lease.owner == "none" { return lease.history.last ?? "the claimant died before writing its lease" }
        if identity.sharesMachine(with: lease) {
            if lease.pid == identity.pid {
                return "worker \(lease.owner) is gone (its pid \(lease.pid) now runs worker \(identity.owner))"
            }
            if lease.pid > 0, kill(lease.pid, 0) != 0, errno == ESRCH {
                return "worker \(lease.owner) (pid \(lease.pid) on \(lease.host)) is gone"
            }
        }
        let lastSign = max(lease.heartbeat, modified)
        if lastSign < clock - policy.leaseTimeout {
            let silence = Int((clock - lastSign).rounded())
            return "worker \(lease.owner) (pid \(lease.pid) on \(lease.host)) sent no heartbeat for \(silence) s"
        }
        return nil
    }

    /// What `recover` made of a job's lease.
    private enum LeaseOutcome {
        /// Judged abandoned, and the job's fate settled.
        case recovered(RecoveryEvent)
        /// Not judged yet: its lease cannot be read (empty or garbled) and is younger than the
        /// timeout, or another recoverer is judging it now.
        case waiting
        /// Held by a holder that may be alive, or the job is gone.
        case held
    }

    private func recover(_ id: String, policy: RecoveryPolicy, identity: WorkerIdentity, clock: Double) throws -> LeaseOutcome {
        let current = readLease(id)
        guard abandonment(of: current, leaseFile: leasePath(id), policy: policy, identity: identity, clock: clock) != nil else {
            return current == nil && QueueFileSystem.exists(runningJob(id)) ? .waiting : .held
        }
        let taken = "\(running)/\(id).recovering.\(identity.owner)"
        guard try QueueFileSystem.renameIfPresent(leasePath(id), taken) else {
            return QueueFileSystem.exists(runningJob(id)) ? .waiting : .held
        }
        let lease = readLease(id, at: taken)
        guard let reason = abandonment(of: lease, leaseFile: taken, policy: policy, identity: identity, clock: clock) else {
            link(taken, leasePath(id))
            unlink(taken)
            return .held
        }
        guard QueueFileSystem.exists(runningJob(id)) else {
            unlink(taken)
            return .held
        }
        do {
            let event = try settle(id, lease: lease, reason: reason, policy: policy, identity: identity)
            unlink(taken)
            return .recovered(event)
        } catch {
            // Give the lease back so the job stays judged by it, not orphaned for a timeout.
            link(taken, leasePath(id))
            unlink(taken)
            throw error
        }
    }

    /// Decides the fate of an abandoned job whose lease this recoverer took.
    private func settle(_ id: String, lease: Lease?, reason: String, policy: RecoveryPolicy,
                        identity: WorkerIdentity) throws -> RecoveryEvent {
        if isFinished(id) {
            // Whatever it is: a directory left by an older worker too.
            FileTree.removeTree(runningJob(id))
            if !QueueFileSystem.exists("\(incoming)/\(id).json") { unlink(attemptsPath(id)) }
            FileTree.syncDirectory(running)
            return RecoveryEvent(job: id, action: .alreadyFinished, reason: reason)
        }
        let attempt = lease?.attempt ?? 1
        let history = (lease?.history ?? []) + (lease?.owner == "none" ? [] : ["attempt \(attempt): \(reason)"])
        if attempt >= policy.maxAttempts {
            let what = "abandoned in each of its \(attempt) attempts (the last: \(reason))"
            try moveToFailed(id: id, jobFile: runningJob(id),
                             report: report(id, .poison, what, attempt: attempt, maxAttempts: policy.maxAttempts,
                                            history: history, identity: identity),
                             log: nil, identity: identity)
            unlink(runningJob(id))
            FileTree.syncDirectory(running)
            return RecoveryEvent(job: id, action: .poisoned(attempts: attempt), reason: reason)
        }
        try moveToIncoming(id: id, record: AttemptRecord(attempts: attempt, history: history), identity: identity)
        return RecoveryEvent(job: id, action: .requeued(attempts: attempt), reason: reason)
    }

    /// Removes staging entries of `tmp/` (named `<id>.<what>.<owner>`) that no live process
    /// will finish: those of a dead owner on this host at once; those of a live process on
    /// this host (one stopped for a while, whose job another worker took over: it still ends
    /// its run and may publish first) only after `liveOwnerStagingAge`, Maildir's 36 hours, in
    /// case its pid now runs another program; any other once it is older than the lease
    /// timeout and no lease names its owner. Maildir waits 36 hours for all of them; the
    /// owner in the name makes waiting unnecessary on one host.
    private func purgeStaging(policy: RecoveryPolicy, identity: WorkerIdentity, clock: Double) {
        guard let entries = try? QueueFileSystem.names(in: tmp) else { return }
        var liveOwners: Set<String>?
        for name in entries {
            let owner = name.split(separator: ".").last.map(String.init) ?? ""
            if owner == identity.owner { continue }
            let parts = owner.split(separator: "-")
            var abandoned = false, ownerRuns = false
            if parts.count == 3, String(parts[0]) == identity.hostHash, let pid = Int32(parts[1]) {
                abandoned = pid == identity.pid || (kill(pid, 0) != 0 && errno == ESRCH)
                ownerRuns = !abandoned
            }
            let age = ownerRuns ? Self.liveOwnerStagingAge : policy.leaseTimeout
            if !abandoned, let facts = QueueFileSystem.facts("\(tmp)/\(name)"), facts.modified < clock - age {
                if liveOwners == nil { liveOwners = leaseOwners() }
                abandoned = !(liveOwners?.contains(owner) ?? false)
            }
            if abandoned {
                returnUnfiledEntry(name, identity: identity)
                FileTree.removeTree("\(tmp)/\(name)")
            }
        }
    }

    /// How old a staging entry of a live process on this host must be to be removed: 36 hours.
    static let liveOwnerStagingAge = 36 * 3600.0

    /// A failure staged as `<id>.failed.<owner>/` holds the job itself when the job was not a
    /// regular file (`moveToFailed` moves such an entry in; a regular one is only linked and
    /// still sits in `running/`). Its owner died before the rename into `failed/`: the entry
    /// goes back to `incoming/`, where the next claim fails it again, rather than vanish
    /// with the staging directory. When the staged `error.json` was written, the attempt it
    /// counted and the history before it go back too (the `.attempts` sidecar, as for a
    /// requeued job), so that the final report counts that attempt and says how it ended.
    private func returnUnfiledEntry(_ name: String, identity: WorkerIdentity) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 2] == "failed" else { return }
        let id = parts.dropLast(2).joined(separator: ".")
        let kept = "\(tmp)/\(name)/job.json"
        guard let facts = QueueFileSystem.facts(kept), !facts.isRegularFile, !isFinished(id),
              !QueueFileSystem.exists(runningJob(id)), !QueueFileSystem.exists("\(incoming)/\(id).json") else { return }
        if let report = (try? QueueFileSystem.readFile("\(tmp)/\(name)/error.json", limit: 1 << 20))?
            .flatMap({ QueueJSON.decode(FailureReport.self, from: $0) }) {
            let ending = "attempt \(report.attempt): \(report.what) (its worker \(report.owner) died before filing the failure)"
            // Without its record the entry still goes back: a lost count beats a lost entry.
            try? writeAttemptRecord(AttemptRecord(attempts: report.attempt, history: report.history + [ending]), id: id,
                                    identity: identity)
        }
        if rename(kept, "\(incoming)/\(id).json") == 0 { FileTree.syncDirectory(incoming) }
    }

    private func leaseOwners() -> Set<String> {
        let names = (try? QueueFileSystem.names(in: running)) ?? []
        return Set(names.filter { $0.hasSuffix(".lease") }.compactMap { readLease(String($0.dropLast(6)))?.owner })
    }
}
