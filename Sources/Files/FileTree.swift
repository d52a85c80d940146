import CFileControl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory-tree operations that result directories and the job queue are built from.
/// Paths are described, never followed: a symbolic link is an entry like a file, and removing
/// a tree removes the link, not what it points to.
public enum FileTree {
    /// A path's directory ("." for a bare name, "/" at the root) and its last component.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Renames `from` to `to` unless something is at `to` (even an empty directory, which
    /// rename(2) would replace): false with `errno` EEXIST then. Where the kernel or the file
    /// system lacks renameat2's RENAME_NOREPLACE, a check then a rename, which a rival could
    /// still race.
    public static func renameWithoutReplacing(_ from: String, _ to: String) -> Bool {
        if clientele_rename_noreplace(from, to) == 0 { return true }
        guard errno == ENOSYS || errno == EINVAL else { return false }
        if exists(to) {
            errno = EEXIST
            return false
        }
        return rename(from, to) == 0
    }

    /// Whether anything (a dangling symbolic link too) is at `path`.
    public static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory, without `.` and `..`; nil, with `errno` set, when it cannot
    /// be listed.
    public static func names(in directory: String) -> [String]? {
        guard let listing = opendir(directory) else { return nil }
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file or a directory tree; a missing path is not an error.
    public static func removeTree(_ path: String) {
        guard exists(path) else { return }
        if isDirectory(path) {
            for name in names(in: path) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Flushes a directory's entries (the names created or removed in it) to disk.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// Writes all of `bytes` to `fd`, again after a partial write or an interrupted one;
/// returns 0, or the `errno` of the failure.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }
}
