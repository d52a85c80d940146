#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files

/// Writes a whole file or nothing: the bytes go to a temporary file beside the target
/// (an `OutputFile`, past the page cache where the file system allows), are flushed to
/// disk, and the temporary file is renamed over the target. A reader sees
/// the old file or the new one, never a part; a failure leaves the old file as it was.
/// What an existing target becomes is `writeFilesAtomically`'s.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeFilesAtomically([(pieces: [bytes], path: path)])
}

/// Like `writeFileAtomically(_:to:)`, for a file given as pieces written one after another,
/// so that a large file need not be joined into one more copy first.
func writeFileAtomically(pieces: [[UInt8]], to path: String) throws {
    try writeFilesAtomically([(pieces: pieces, path: path)])
}

/// Like `writeFileAtomically(_:to:)`, for a file too large to hold whole: `produce` hands its
/// pieces, one after another, to the function it is given, which writes each before the next
/// is made. If `produce` throws, nothing is published and its error is thrown.
public func writeFileAtomically(to path: String, producing produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
    try withoutActuallyEscaping(produce) { produce in
        try writeFilesAtomically([(contents: .produced(produce), path: path)])
    }
}

/// A file's bytes: pieces already made, or made while the file is written.
enum FileContents {
    case pieces([[UInt8]])
    case produced((_ emit: ([UInt8]) throws -> Void) throws -> Void)
}

/// The output files of one command, published together: each is written and flushed under a
/// temporary name beside its target, and only once all are written are they renamed into
/// place, so that a failure to write any of them (a missing directory, a full disk) leaves
/// every target as it was.
///
/// A target that exists already:
/// - a regular file is replaced, and the new file takes its permissions (and its owner and
///   group, where the process may give them), so a summary kept private stays private;
/// - a symbolic link is followed: the file it leads to is replaced and the link stays;
/// - a character device, a named pipe or a socket (`/dev/null`, a FIFO) is written to in
///   place, after the files are published, as nothing may be renamed over it;
/// - the process's own descriptors (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
///   `/proc/self/fd/N`) are written to as they are, whatever they lead to (a pipe, or a file
///   the shell appends to), never replaced;
/// - a directory or anything else is refused before anything is written, as is one file
///   given for two outputs.
public func writeFilesAtomically(_ files: [(pieces: [[UInt8]], path: String)]) throws {
    try writeFilesAtomically(files.map { (contents: FileContents.pieces($0.pieces), path: $0.path) })
}

func writeFilesAtomically(_ files: [(contents: FileContents, path: String)]) throws {
    let targets = try files.map { try OutputTarget($0.path) }
    // The regular files, each with its temporary name beside it.
    var staged: [(contents: FileContents, path: String, directory: String, temporary: String, existing: stat?)] = []
    var seen = Set<String>()
    for (file, target) in zip(files, targets) {
        guard case .file(let path, let existing) = target else { continue }
        let (directory, name) = FileTree.split(path)
        let resolved = realpath(directory, nil).map { real in defer { free(real) }; return String(cString: real) }
        guard seen.insert((resolved ?? directory) + "/" + name).inserted else {
            throw TransactionsError.invalidFile(path, "is given for two outputs; give each output a file of its own")
        }
        staged.append((file.contents, path, directory, "\(directory)/.\(name).\(getpid()).partial", existing))
    }
    func fail(_ path: String, _ code: Int32, leaving temporaries: [String]) -> Error {
        for temporary in temporaries { unlink(temporary) }
        return TransactionsError.invalidFile(path, "cannot write: \(String(cString: strerror(code)))")
    }
    for (k, file) in staged.enumerated() {
        var code: Int32
        do {
            code = try save(file.contents, as: file.temporary)
        } catch {
            for temporary in staged[...k].map(\.temporary) { unlink(temporary) }
            throw error
        }
        if code == 0, let existing = file.existing {
            // The owner first: a change of owner clears the set-id bits that the mode restores.
            _ = chown(file.temporary, existing.st_uid, existing.st_gid)
            if chmod(file.temporary, existing.st_mode & 0o7777) != 0 { code = errno }
        }
        if code != 0 { throw fail(file.path, code, leaving: staged[...k].map(\.temporary)) }
    }
    for (k, file) in staged.enumerated() {
        guard rename(file.temporary, file.path) == 0 else { throw fail(file.path, errno, leaving: staged[k...].map(\.temporary)) }
        FileTree.syncDirectory(file.directory)
    }
    for (file, target) in zip(files, targets) {
        switch target {
        case .file:
            continue
        case .stream(let path):
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw TransactionsError.invalidFile(path, "cannot write: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            try write(file.contents, to: fd, path)
        case .descriptor(let fd, let path):
            try write(file.contents, to: fd, path)
        }
    }
}

/// A write that failed, with its `errno`, thrown out of a producer's `emit`.
private struct WriteFailure: Error {
    var code: Int32
}

/// Writes the contents as the new file `path` and flushes it; returns 0, or the `errno` of
/// the failure. Throws what a producer throws for its own reasons.
private func save(_ contents: FileContents, as path: String) throws -> Int32 {
    switch contents {
    case .pieces(let pieces):
        return OutputFile.save(pieces, as: path)
    case .produced(let produce):
        guard let file = OutputFile(creating: path) else { return errno }
        do {
            try produce { piece in
                let code = file.append(piece)
                if code != 0 { throw WriteFailure(code: code) }
            }
        } catch let failure as WriteFailure {
            return failure.code
        }
        return file.finish()
    }
}

private func write(_ contents: FileContents, to fd: Int32, _ path: String) throws {
    let emit = { (piece: [UInt8]) throws in
        let code = writeAll(fd, piece)
        if code != 0 { throw TransactionsError.invalidFile(path, "cannot write: \(String(cString: strerror(code)))") }
    }
    switch contents {
    case .pieces(let pieces): for piece in pieces { try emit(piece) }
    case .produced(let produce): try produce(emit)
    }
}

/// Where an output goes, from what is at its path now.
private enum OutputTarget {
    /// A regular file to create or replace (`existing`: the one replaced).
    case file(path: String, existing: stat?)
    /// A character device, a named pipe or a socket, written to in place.
    case stream(path: String)
    /// One of the process's open descriptors, named by its path in /dev or /proc.
    case descriptor(Int32, path: String)

    init(_ path: String) throws {
        if let fd = Self.ownDescriptor(path) {
            guard fcntl(fd, F_GETFD) >= 0 else {
                throw TransactionsError.invalidFile(path, "names descriptor \(fd), which this process does not have open")
            }
            self = .descriptor(fd, path: path)
            return
        }
        var status = stat()
        guard lstat(path, &status) == 0 else {
            // Nothing there (or a directory on the way is missing, which creating the
            // temporary file reports).
            self = .file(path: path, existing: nil)
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            self = .file(path: path, existing: status)
        case S_IFCHR, S_IFIFO, S_IFSOCK:
            self = .stream(path: path)
        case S_IFLNK:
            guard let resolved = realpath(path, nil) else {
                throw TransactionsError.invalidFile(path, "is a symbolic link that leads to no file (\(String(cString: strerror(errno)))); give the file's own path")
            }
            defer { free(resolved) }
            // realpath resolves every link on the way, so this recurses once.
            self = try OutputTarget(String(cString: resolved))
        case S_IFDIR:
            throw TransactionsError.invalidFile(path, "is a directory; give the path of a file to write")
        default:
            throw TransactionsError.invalidFile(path, "is neither a regular file nor a device or named pipe to write to; give the path of a file")
        }
    }

    /// The descriptor a path names when it is one of the process's own: /dev/stdout,
    /// /dev/stderr, /dev/stdin, /dev/fd/N or /proc/self/fd/N. Opening such a path anew would
    /// start a file the shell appends to at its beginning, and resolving it would replace the
    /// file; the descriptor itself is what the user means.
    static func ownDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdin": return 0
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count))
            }
            return nil
        }
    }
}
