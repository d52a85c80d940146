/// The few POSIX file operations the queue is built from, with their failures turned into
/// `QueueError` values that name the path and the system's reason.
///
/// Every state change of a job is a `rename(2)` inside the queue directory (atomic on one
/// filesystem, also over NFS for a single client's view). Durability follows the usual
/// recipe: write the data, `fsync` the file, rename it into place, then `fsync` the
/// directory that holds the new name, so that after a power cut a name never points at an
/// empty or half-written file. Hazard: everything here must stay on one filesystem; the
/// queue never renames across its own root.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files

enum QueueFileSystem {
    /// The system's text for the current `errno`.
    static func reason(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// Writes `bytes` to a new file at `path` (failing if it exists), flushed to disk unless
    /// `flush` is false (for files whose loss in a power cut the queue survives).
    static func createDurableFile(_ bytes: [UInt8], at path: String, flush: Bool = true) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw QueueError.fileSystem(path, "cannot create: \(reason())") }
        defer { close(fd) }
        let code = writeAll(fd, bytes)
        if code != 0 {
            unlink(path)
            throw QueueError.fileSystem(path, "cannot write: \(reason(code))")
        }
        if flush && fsync(fd) != 0 {
            let code = errno
            unlink(path)
            throw QueueError.fileSystem(path, "cannot flush: \(reason(code))")
        }
    }

    /// `rename(2)`; returns false when the source is gone (ENOENT), which is how a loser
    /// of a race learns that another process moved the file first.
    static func renameIfPresent(_ from: String, _ to: String) throws -> Bool {
        if rename(from, to) == 0 { return true }
        if errno == ENOENT { return false }
        throw QueueError.fileSystem(from, "cannot move to \(to): \(reason())")
    }

    /// Opens a file for reading without ever blocking (`RegularFile.openForReading`): a FIFO
    /// or a device put where a file was expected cannot hang the worker in `open(2)`, and is
    /// refused. Symbolic links are followed only with `followingLinks` (a user's own path,
    /// not one inside the queue). Nil when it does not exist.
    static func openRegularFile(_ path: String, followingLinks: Bool = false) throws -> Int32? {
        do {
            return try RegularFile.openForReading(path, followingLinks: followingLinks)
        } catch {
            throw QueueError.fileSystem(path, error.description)
        }
    }

    /// Reads a whole small regular file; nil when it does not exist.
    static func readFile(_ path: String, limit: Int, followingLinks: Bool = false) throws -> [UInt8]? {
        do {
            return try RegularFile.contents(path, limit: limit, followingLinks: followingLinks)
        } catch {
            throw QueueError.fileSystem(path, error.description)
        }
    }

    /// Copies a regular file to a new file, for a file system without hard links.
    static func copyFile(_ from: String, to: String) throws {
        guard let source = try openRegularFile(from) else { throw QueueError.fileSystem(from, "no such file") }
        defer { close(source) }
        let target = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard target >= 0 else { throw QueueError.fileSystem(to, "cannot create: \(reason())") }
        defer { close(target) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw QueueError.fileSystem(from, "cannot read: \(reason())") }
            if n == 0 { return }
            let code = writeAll(target, Array(chunk[0..<n]))
            if code != 0 { throw QueueError.fileSystem(to, "cannot write: \(reason(code))") }
        }
    }

    /// `lstat(2)` facts the queue uses (inside the queue a symbolic link is described, not
    /// followed), or `stat(2)` facts with `followingLinks`; nil when the path does not exist.
    struct Facts {
        var size: Int
        var isDirectory: Bool
        var isRegularFile: Bool
        /// "a FIFO", "a directory"…, for messages.
        var kind: String
        /// Seconds since the epoch of the last content change and of the last change of the
        /// inode (a rename changes the latter, not the former).
        var modified: Double
        var changed: Double
    }

    static func facts(_ path: String, followingLinks: Bool = false) -> Facts? {
        var info = stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        return Facts(size: Int(info.st_size),
                     isDirectory: (info.st_mode & S_IFMT) == S_IFDIR,
                     isRegularFile: (info.st_mode & S_IFMT) == S_IFREG,
                     kind: RegularFile.kind(info.st_mode),
                     modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9,
                     changed: Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The names in a directory, without `.` and `..`.
    static func names(in directory: String) throws -> [String] {
        guard let names = FileTree.names(in: directory) else {
            throw QueueError.fileSystem(directory, "cannot list: \(reason())")
        }
        return names
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw QueueError.fileSystem(path, "cannot create directory: \(reason())")
        }
    }

    /// Flushes every file and directory of a tree, so that the rename that publishes it
    /// cannot outrun its contents. Only regular files are opened (without blocking): a FIFO, a
    /// device or a link has no data of its own to flush, its name is flushed with its directory.
    static func syncTree(_ path: String) throws {
        guard let facts = facts(path) else { return }
        if facts.isDirectory {
            for name in try names(in: path) { try syncTree(path + "/" + name) }
            FileTree.syncDirectory(path)
        } else if facts.isRegularFile {
            guard let fd = try openRegularFile(path) else { return }
            defer { close(fd) }
            if fsync(fd) != 0 { throw QueueError.fileSystem(path, "cannot flush: \(reason())") }
        }
    }
}
