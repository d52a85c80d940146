/// Job ids: unique across hosts and processes without coordination, ordered by submission
/// time when compared as strings, and safe as file and directory names.
///
/// Like Maildir's unique names (`time.M<usec>P<pid>.<host>`), an id is the time in
/// microseconds, a hash of the host name, the process id and a per-process counter; unlike
/// Maildir the time comes first and has a fixed width (`20261130T084950.123456Z`) so that
/// `ls incoming/` lists jobs in the order they were submitted. The host appears hashed, since
/// host names may hold characters a job id must not.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

public enum JobID {
    /// Whether `id` may name a job: 1…200 of `[A-Za-z0-9._-]`, not starting with a dot (which
    /// also rules out `.` and `..`) and without `..` anywhere, so that `done/<id>/` can never
    /// leave the queue directory.
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...200).contains(bytes.count), bytes[0] != UInt8(ascii: "."), !id.contains("..") else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// Throws `QueueError.invalidJobID` unless `id` is valid.
    public static func validate(_ id: String) throws {
        guard isValid(id) else { throw QueueError.invalidJobID(id) }
    }

    private static let counter = Atomic<Int>(0)

    /// A new id: `20261130T084950.123456Z-<host hash>-<pid>-<counter>`.
    public static func make(identity: WorkerIdentity = .current) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let count = counter.add(1, ordering: .relaxed).newValue
        let stamp = pad(Int(parts.tm_year) + 1900, 4) + pad(Int(parts.tm_mon) + 1, 2) + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + pad(Int(parts.tm_min), 2) + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(now.tv_nsec) / 1000, 6) + "Z"
        return "\(stamp)-\(identity.hostHash)-\(identity.pid)-\(count)"
    }

    /// The submission time written at the front of an id made by `make`, in seconds since the
    /// epoch; nil for ids of another shape (files renamed into `incoming/` by hand).
    public static func submissionTime(of id: String) -> Double? {
        let bytes = Array(id.utf8)
        guard bytes.count >= 23, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "."),
              bytes[22] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              let micro = number(16..<22) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Double(timegm(&parts)) + Double(micro) / 1e6
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
