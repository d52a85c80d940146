#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files
import Foundation
import Transactions

/// A result directory that appears whole or not at all.
///
/// The files are written into a hidden sibling (`.NAME.partial-PID`, in the same directory so
/// that the final rename stays on one file system), each file flushed with fsync, the staging
/// directory itself flushed, and then renamed to its name, after which the parent is flushed
/// so that the rename survives a crash. A failure removes the staging directory. Replacing an
/// existing result (the demo does) moves the old one aside first and removes it once the new
/// one is in place, so a reader sees the old result or the new, never a mix; a directory that
/// is not a result (`markers`) is never replaced.
public enum ResultDirectory {
    /// A directory or file could not be created, written or renamed: a fault of the
    /// machine (disk, permissions), not of the job.
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Creates the staging directory beside `output`, lets `fill` write into it and publishes
    /// it as `output`. Without `replacing`, an existing `output` is refused before any work.
    public static func publish<T>(_ output: String, replacing: Bool, fill: (String) throws -> T) throws -> T {
        let target = withoutTrailingSlash(output)
        let (parent, name) = FileTree.split(target)
        if FileTree.exists(target) {
            guard replacing else {
                throw WriteError(path: target, reason: "already exists; choose a new result directory or remove this one")
            }
            guard isResult(target) else {
                throw WriteError(path: target, reason: "exists and is not a Clientele result directory (one holds \(markers.joined(separator: ", "))), so it is not replaced; choose another output or remove it")
            }
        }
        var status = stat()
        guard stat(parent, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw WriteError(path: parent, reason: "no such directory, so the result directory cannot be made in it; create it first")
        }
        let staging = stagingPath(target)
        FileTree.removeTree(staging)
        guard mkdir(staging, 0o755) == 0 else { throw WriteError(path: staging, reason: "cannot create: \(systemReason())") }
        do {
            let value = try fill(staging)
            try syncTree(staging)
            // The renames that change `output` happen whole or not at all with respect to
            // `abandon`, which a stopping signal calls from another thread.
            publishing.lock()
            defer { publishing.unlock() }
            var previous: String?
            if replacing, FileTree.exists(target) {
                let aside = "\(parent)/.\(name).previous-\(getpid())"
                FileTree.removeTree(aside)
                guard rename(target, aside) == 0 else { throw WriteError(path: target, reason: "cannot move the old result aside: \(systemReason())") }
                previous = aside
            }
            // Never over whatever appeared at the output while the job ran (an empty
            // directory would be replaced by a plain rename): the output is refused instead.
            guard FileTree.renameWithoutReplacing(staging, target) else {
                let reason = errno == EEXIST ? "appeared while the job ran; it is left as it is and the result is not published"
                    : "cannot publish: \(systemReason())"
                if let previous { _ = rename(previous, target) }
                throw WriteError(path: target, reason: reason)
            }
            FileTree.syncDirectory(parent)
            if let previous { FileTree.removeTree(previous) }
            return value
        } catch {
            FileTree.removeTree(staging)
            throw error
        }
    }

    /// Where `publish` builds the result for `target`, in this process.
    static func stagingPath(_ target: String) -> String {
        let (parent, name) = FileTree.split(target)
        return "\(parent)/.\(name).partial-\(getpid())"
    }

    static func withoutTrailingSlash(_ output: String) -> String {
        output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
    }

    /// Held while `publish` changes what is at an output (moves an earlier result aside,
    /// renames the new one into place, removes the old), and by `abandon` for good.
    private static let publishing = NSLock()

    /// Undoes an unfinished `publish` of `output` by this process, for a command stopped by a
    /// signal in the middle of it, which must exit right after: the staging directory is
    /// taken away whole (renamed, then removed) and no `publish` changes `output` from then
    /// on, so `output` holds the earlier result or the new one, whole. Waits for a `publish`
    /// that is renaming. Returns whether the result was left unpublished (false once it is
    /// in place).
    @discardableResult
    public static func abandon(_ output: String) -> Bool {
        // Never released: the process is about to exit.
        publishing.lock()
        let staging = stagingPath(withoutTrailingSlash(output))
        let abandoned = staging + ".abandoned"
        // Renamed first, so that the stages still writing by path can add nothing to what is
        // removed.
        guard rename(staging, abandoned) == 0 else { return false }
        FileTree.removeTree(abandoned)
        return true
    }

    /// The files every result directory holds: what the demo's replacing asks of a directory
    /// before it removes it, so that a mistyped `--output` never costs a directory of other files.
    static let markers = ["job.json", "profiles.json", "assignments.csv"]

    static func isResult(_ path: String) -> Bool {
        FileTree.isDirectory(path) && markers.allSatisfy { FileTree.exists("\(path)/\($0)") }
    }

    /// Writes a file inside a result directory and flushes it.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let code = OutputFile.save([bytes], as: path)
        guard code == 0 else { throw WriteError(path: path, reason: "cannot write: \(String(cString: strerror(code)))") }
    }

    /// Like `write(_:to:)`, for a header and then rows rendered a chunk at a time on two
    /// threads (`renderInOrder`), each chunk written as it comes.
    public static func write(header: [UInt8], rows: Int, render: (Range<Int>, inout [UInt8]) -> Void, to path: String) throws {
        // An `OutputFile`: past the page cache where the file system allows, as nothing reads
        // a result back in this process.
        guard let file = OutputFile(creating: path) else { throw WriteError(path: path, reason: "cannot write: \(systemReason())") }
        func check(_ code: Int32) throws {
            guard code == 0 else { throw WriteError(path: path, reason: "cannot write: \(String(cString: strerror(code)))") }
        }
        try check(file.append(header))
        try renderInOrder(rows: rows, render: render) { try check(file.append($0)) }
        try check(file.finish())
    }

    /// Creates a subdirectory of a result directory.
    public static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw WriteError(path: path, reason: "cannot create: \(systemReason())") }
    }

    static func systemReason() -> String { String(cString: strerror(errno)) }

    /// Flushes every directory of the tree (files are flushed as they are written).
    static func syncTree(_ path: String) throws {
        for entry in FileTree.names(in: path) ?? [] where FileTree.isDirectory("\(path)/\(entry)") { try syncTree("\(path)/\(entry)") }
        FileTree.syncDirectory(path)
    }
}
