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
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeFileAtomically(pieces: [bytes], to: path)
}

/// Like `writeFileAtomically(_:to:)`, for a file given as pieces written one after another,
/// so that a large file need not be joined into one more copy first.
func writeFileAtomically(pieces: [[UInt8]], to path: String) throws {
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    let temporary = "\(directory.isEmpty ? "/" : directory)/.\(name).\(getpid()).partial"
    let code = OutputFile.save(pieces, as: temporary)
    var failure = code == 0 ? nil : String(cString: strerror(code))
    if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(temporary)
        throw TransactionsError.invalidFile(path, "cannot write: \(failure)")
    }
}
