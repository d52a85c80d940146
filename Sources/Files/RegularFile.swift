#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a file without ever blocking on one that is not what it should be: `open(2)` with
/// `O_NONBLOCK`, so that a FIFO nothing writes into or a device put where a file was expected
/// cannot hang the process before it is looked at, then `fstat(2)` on what was opened. Job
/// files, the queue's own files and result files are read this way.
///
/// A file named on the command line may be a stream too (`allowingStreams`): a pipe
/// (`clientele run /dev/stdin`, `<(…)`) or a character device is then read to its end, in
/// blocking mode once open, but never past the limit, so `/dev/zero` is refused when the limit
/// is reached rather than read until memory runs out; a FIFO that has no writer when it is
/// opened reads as empty instead of waiting for one.
public enum RegularFile {
    /// Why a path could not be read.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `not a regular file: a FIFO`
        case notRegular(kind: String)
        /// The system's reason (`No such file or directory`, `Permission denied`).
        case cannotOpen(reason: String)
        case cannotRead(reason: String)
        case tooLarge(limit: Int)

        public var description: String {
            switch self {
            case .notRegular(let kind): "not a regular file: \(kind)"
            case .cannotOpen(let reason): "cannot open: \(reason)"
            case .cannotRead(let reason): "cannot read: \(reason)"
            case .tooLarge(let limit): "is larger than \(limit) bytes"
            }
        }

        /// Why, without the step: for a message that already says it could not read the file.
        public var reason: String {
            switch self {
            case .cannotOpen(let reason), .cannotRead(let reason): reason
            default: description
            }
        }

        static func fromErrno() -> Failure { .cannotOpen(reason: String(cString: strerror(errno))) }

        /// Nothing at the path (`No such file or directory`).
        static var missing: Failure { .cannotOpen(reason: String(cString: strerror(ENOENT))) }
    }

    /// A descriptor open for reading; nil when nothing is at `path`. Symbolic links are
    /// followed only with `followingLinks` (a user's own path, not one inside a queue).
    public static func openForReading(_ path: String, followingLinks: Bool, allowingStreams: Bool = false) throws(Failure) -> Int32? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        if fd < 0 {
            if errno == ENOENT { return nil }
            if errno == ELOOP && !followingLinks { throw .notRegular(kind: "a symbolic link") }
            throw .fromErrno()
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = Failure.fromErrno()
            close(fd)
            throw failure
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFREG { return fd }
        if allowingStreams && (type == S_IFIFO || type == S_IFCHR) {
            // Open now, so reads may wait for the writer's bytes as any reader of a pipe does.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return fd
        }
        close(fd)
        throw .notRegular(kind: kind(info.st_mode))
    }

    /// The same, with nothing at `path` a failure (`No such file or directory`).
    public static func openExisting(_ path: String, followingLinks: Bool, allowingStreams: Bool = false) throws(Failure) -> Int32 {
        guard let fd = try openForReading(path, followingLinks: followingLinks, allowingStreams: allowingStreams) else {
            throw .missing
        }
        return fd
    }

    /// The whole file, read until its end but never past `limit` bytes (a file that grows
    /// while it is read is refused, not followed); nil when nothing is at `path`.
    public static func contents(_ path: String, limit: Int, followingLinks: Bool, allowingStreams: Bool = false) throws(Failure) -> [UInt8]? {
        guard let fd = try openForReading(path, followingLinks: followingLinks, allowingStreams: allowingStreams) else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(reason: String(cString: strerror(errno)))
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
        throw .tooLarge(limit: limit)
    }

    /// `contents`, with nothing at `path` a failure (`No such file or directory`).
    public static func existingContents(_ path: String, limit: Int, followingLinks: Bool,
                                        allowingStreams: Bool = false) throws(Failure) -> [UInt8] {
        guard let bytes = try contents(path, limit: limit, followingLinks: followingLinks, allowingStreams: allowingStreams) else {
            throw .missing
        }
        return bytes
    }

    /// What kind of file a mode is, for messages: "a FIFO", "a directory"…
    public static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "a file of unknown kind"
        }
    }
}
