/// Who holds a claimed job, and the records that travel with a job between attempts.
///
/// A lease (`running/<id>.lease`) says which worker process holds a job, on which host and
/// boot, under which pid, since when, and when it last showed signs of life. It is what
/// Directory::Queue lacks: there a lock is a bare `mkdir`/`link` whose only evidence of life
/// is its age (`purge(maxlock)`); here a lease on the same host can be judged at once by
/// asking the kernel whether its pid still runs, and a lease from another host by its
/// heartbeat, which the holder renews while the job runs.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The process a worker (or `submit`) runs as: one per process start, so that a worker
/// restarted under a recycled pid does not mistake its predecessor's leases for its own.
public struct WorkerIdentity: Sendable, Equatable {
    /// `<host hash>-<pid>-<random>`: no dots, so that it can end a file name in `tmp/`.
    public let owner: String
    public let host: String
    /// The kernel's boot id: the same host name after a reboot is another machine as far as
    /// pids are concerned.
    public let bootID: String
    public let hostHash: String
    public let pid: Int32

    public init(host: String, bootID: String, pid: Int32, nonce: UInt32) {
        self.host = host
        self.bootID = bootID
        self.pid = pid
        var hash: UInt32 = 2_166_136_261
        for byte in host.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        hostHash = hex(hash)
        owner = "\(hostHash)-\(pid)-\(hex(nonce))"
    }

    /// This process.
    public static let current = WorkerIdentity.make(pid: getpid())

    /// A fresh identity for this host (a new random part), for several owners in one
    /// process, as the tests have.
    public static func make(pid: Int32 = getpid()) -> WorkerIdentity {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return WorkerIdentity(host: host, bootID: boot, pid: pid, nonce: UInt32.random(in: 0...UInt32.max))
    }

    /// Whether `lease` was taken on this machine since its last boot, so that its pid can be
    /// asked about.
    func sharesMachine(with lease: Lease) -> Bool {
        lease.host == host && lease.bootID == bootID
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// The lease file's content.
public struct Lease: Codable, Sendable, Equatable {
    public var job: String
    public var owner: String
    public var host: String
    public var bootID: String
    public var pid: Int32
    /// 1 for the first run of the job, counting every run that did not end (crash, lost
    /// lease, failure of the machine); a release at shutdown gives its attempt back.
    public var attempt: Int
    public var claimedAt: Double
    /// Seconds since the epoch, by the holder's clock, of the last renewal.
    public var heartbeat: Double
    /// Why earlier attempts ended, oldest first.
    public var history: [String]

    init(job: String, identity: WorkerIdentity, attempt: Int, history: [String], now: Double) {
        self.job = job
        owner = identity.owner
        host = identity.host
        bootID = identity.bootID
        pid = identity.pid
        self.attempt = attempt
        claimedAt = now
        heartbeat = now
        self.history = history
    }
}

/// `incoming/<id>.attempts`: how many runs of a requeued job ended without a result, and why.
/// A sidecar rather than a wrapper around the job, so that the job file stays the user's,
/// byte for byte, in every state.
public struct AttemptRecord: Codable, Sendable, Equatable {
    public var attempts: Int
    public var history: [String]
    /// Seconds since the epoch before which no worker claims the job again: a run that failed
    /// for a reason of the moment (a database down) is retried after a delay, not at once.
    /// Absent: at once (a job recovered from a dead worker, or released at shutdown).
    public var retryAt: Double?

    public init(attempts: Int, history: [String], retryAt: Double? = nil) {
        self.attempts = attempts
        self.history = history
        self.retryAt = retryAt
    }
}

/// Where a job's own error was found, as far as the runner knows it.
public struct JobErrorLocation: Codable, Sendable, Equatable {
    public var file: String?
    public var line: Int?
    /// The character column in a text file (the job file's JSON).
    public var column: Int?
    /// The column of a CSV file, by its header name (or 1-based position without a header).
    public var field: String?
    /// The job file's setting at fault (`period.calibrationEnd`).
    public var keyPath: String?

    public init(file: String? = nil, line: Int? = nil, column: Int? = nil, field: String? = nil, keyPath: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.keyPath = keyPath
    }
}

/// `failed/<id>/error.json`.
public struct FailureReport: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The job is wrong (bad data, bad parameters): not retried.
        case jobError = "job-error"
        /// The job ended without a result in every one of its allowed attempts.
        case poison
        /// The file in `incoming/` could not be a job at all (its name, its size).
        case invalidJobFile = "invalid-job-file"
    }

    public var job: String
    public var kind: Kind
    public var what: String
    public var `where`: JobErrorLocation?
    public var attempt: Int
    public var maxAttempts: Int
    public var owner: String
    public var host: String
    public var pid: Int32
    public var failedAt: Double
    public var history: [String]
}

enum QueueJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) -> Value? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }
}
