#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFileControl

/// A new file written front to back through one aligned buffer, past the page cache
/// (`O_DIRECT`) where the file system allows it.
///
/// A result file is written once and read, if at all, by another process later; keeping its
/// pages cached buys nothing, and filling the cache costs: each page is memory the kernel
/// must find and fill. On a virtual machine whose host takes back the guest's free memory
/// (a balloon with free-page reporting), every such page is also a fault on the host, and
/// writing 1.4 GB through the cache took 3.3 s of system time where writing it direct took
/// 0.5 s (`clientele run` at 10M customers writes an `assignments.csv` of that size).
///
/// Direct writes must start at an offset and hold a length that are multiples of the
/// device's block, from memory aligned the same way: the buffer is page-aligned and is
/// written whenever it is full, and the unaligned tail at the end goes through the cache.
/// Where the file system refuses direct writes (`open` or the first `write` fails with
/// `EINVAL`, as on some tmpfs and network mounts) the file is written through the cache as
/// any other, with the same bytes.
public final class OutputFile {
    /// Offsets and lengths of direct writes are multiples of this: the largest logical block
    /// of common devices, and the page size.
    static let alignment = 4096

    /// The buffer a file gets unless it asks for another size.
    public static let defaultBufferBytes = 8 << 20

    public let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var filled = 0
    /// Whether writes still bypass the cache.
    public private(set) var isDirect: Bool
    /// How many bytes went to the file past the cache.
    public private(set) var directBytes = 0

    /// Creates (or truncates) `path`; nil, with `errno` set, when it cannot be opened.
    /// `direct: false` writes through the cache from the start; `bufferBytes` is rounded up
    /// to the alignment.
    public init?(creating path: String, mode: mode_t = 0o644, bufferBytes: Int = defaultBufferBytes, direct: Bool = true) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        let directFlag = clientele_direct_io_flag()
        var fd: Int32 = -1
        var isDirect = false
        if direct, directFlag != 0 {
            fd = open(path, flags | directFlag, mode)
            isDirect = fd >= 0
        }
        if fd < 0 {
            fd = open(path, flags, mode)
            guard fd >= 0 else { return nil }
        }
        let capacity = max(1, (bufferBytes + Self.alignment - 1) / Self.alignment) * Self.alignment
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, Self.alignment, capacity) == 0, let memory else {
            close(fd)
            errno = ENOMEM
            return nil
        }
        self.path = path
        self.fd = fd
        self.isDirect = isDirect
        self.buffer = memory
        self.capacity = capacity
    }

    deinit {
        close(fd)
        free(buffer)
    }

    /// Appends bytes; returns 0, or the `errno` of a failed write.
    public func append(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let count = min(capacity - filled, bytes.count - offset)
            (buffer + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            filled += count
            offset += count
            if filled == capacity {
                let code = writeBuffered(count: capacity)
                if code != 0 { return code }
            }
        }
        return 0
    }

    public func append(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Writes what is still buffered and flushes the file to disk (`fsync`); returns 0, or
    /// the `errno` of the failure. The file stays open until the object goes.
    public func finish() -> Int32 {
        let aligned = filled / Self.alignment * Self.alignment
        if aligned > 0 {
            let code = writeBuffered(count: aligned)
            if code != 0 { return code }
        }
        if filled > 0 {
            // The tail is shorter than a block: through the cache.
            if isDirect, !stopDirectWrites() { return errno }
            let code = writeBuffered(count: filled)
            if code != 0 { return code }
        }
        return fsync(fd) == 0 ? 0 : errno
    }

    /// Writes the buffer's first `count` bytes and moves any rest to its front.
    private func writeBuffered(count: Int) -> Int32 {
        var offset = 0
        while offset < count {
            let n = write(fd, buffer + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // Refused direct: the same bytes through the cache.
                if isDirect, errno == EINVAL, stopDirectWrites() { continue }
                return errno
            }
            offset += n
            if isDirect { directBytes += n }
            // A short direct write can leave the offset off a block boundary; the rest then
            // goes through the cache.
            if isDirect, offset % Self.alignment != 0, !stopDirectWrites() { return errno }
        }
        filled -= count
        if filled > 0 { buffer.copyMemory(from: buffer + count, byteCount: filled) }
        return 0
    }

    /// Writes `pieces`, one after another, as the new file `path` and flushes it, with a
    /// buffer no larger than they need; returns 0, or the `errno` of the failure.
    public static func save(_ pieces: [[UInt8]], as path: String) -> Int32 {
        guard let file = OutputFile(creating: path, bufferBytes: min(defaultBufferBytes, pieces.reduce(0) { $0 + $1.count })) else {
            return errno
        }
        for piece in pieces {
            let code = file.append(piece)
            if code != 0 { return code }
        }
        return file.finish()
    }

    private func stopDirectWrites() -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~clientele_direct_io_flag()) == 0 else { return false }
        isDirect = false
        return true
    }
}
