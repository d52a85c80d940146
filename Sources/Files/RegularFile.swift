#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a file that must be a regular file, without ever blocking on one that is not:
/// `open(2)` with `O_NONBLOCK`, so that a FIFO or a device put where a file was expected
/// cannot hang the process before it is looked at, then `fstat(2)` on what was opened. Job
/// files and the queue's own files are read this way.
public enum RegularFile {
    /// Why a path could not be read as a regular file.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// `not a regular file: a FIFO`
        case notRegular(kind: String)
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
    }

    /// A descriptor open for reading; nil when nothing is at `path`. Symbolic links are
    /// followed only with `followingLinks` (a user's own path, not one inside a queue).
    public static func openForReading(_ path: String, followingLinks: Bool) throws(Failure) -> Int32? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        if fd < 0 {
            if errno == ENOENT { return nil }
            if errno == ELOOP && !followingLinks { throw .notRegular(kind: "a symbolic link") }
            throw .cannotOpen(reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .notRegular(kind: kind(info.st_mode))
        }
        return fd
    }

    /// The whole file, read until its end but never past `limit` bytes (a file that grows
    /// while it is read is refused, not followed); nil when nothing is at `path`.
    public static func contents(_ path: String, limit: Int, followingLinks: Bool) throws(Failure) -> [UInt8]? {
        guard let fd = try openForReading(path, followingLinks: followingLinks) else { return nil }
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
