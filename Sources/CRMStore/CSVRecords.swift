/// RFC 4180 records from a whole file held in memory: fields separated by commas, records by
/// LF or CRLF, a field in double quotes may hold commas, line breaks and doubled quotes.
///
/// Hazards: a million-row assignments file must not cost an allocation per field, so fields
/// are views into the file itself, mapped privately: a quoted field with doubled quotes is
/// unescaped in place (unescaping only shortens it), which copies only the pages it writes
/// and never changes the file. The views stay valid as long as the `CSVRecords` lives. It is
/// a non-copyable struct so that the scanning loops work on plain stored properties, without
/// the exclusivity checks that a class's properties cost on every byte.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Files

struct CSVRecords: ~Copyable {
    let path: String
    private let base: UnsafeMutablePointer<UInt8>
    private let mappedBytes: Int
    private let end: Int
    private var position = 0
    private var nextLine = 1
    /// The 1-based line on which the last record returned by `next` starts.
    private(set) var line = 0
    /// The fields of the last record returned by `next`.
    private(set) var fields: [UnsafeRawBufferPointer] = []

    init(path: String) throws {
        let (base, size) = try Self.map(path)
        self.path = path
        self.base = base
        end = size
        mappedBytes = max(size, 1)
        fields.reserveCapacity(16)
    }

    /// The file mapped privately and writable (at least one byte, so that an empty file maps).
    private static func map(_ path: String) throws -> (UnsafeMutablePointer<UInt8>, Int) {
        // Opened without blocking and refused unless a regular file: a FIFO in a result
        // directory would otherwise hold the export in open(2) for good.
        let fd: Int32
        do {
            fd = try RegularFile.openExisting(path, followingLinks: true)
        } catch {
            throw CRMStoreError.file(path, "cannot read: \(error.reason)")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw CRMStoreError.file(path, "cannot read: \(String(cString: strerror(errno)))")
        }
        let size = Int(status.st_size)
        let mapped = mmap(nil, max(size, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CRMStoreError.file(path, "cannot read: \(String(cString: strerror(errno)))")
        }
        return (mapped.assumingMemoryBound(to: UInt8.self), size)
    }

    deinit { munmap(base, mappedBytes) }

    /// Reads the next record into `fields`; false at the end of the file. Blank lines are
    /// skipped.
    mutating func next() throws -> Bool {
        fields.removeAll(keepingCapacity: true)
        while position < end, base[position] == 0x0A || base[position] == 0x0D {
            if base[position] == 0x0A { nextLine += 1 }
            position += 1
        }
        guard position < end else { return false }
        line = nextLine
        while true {
            if base[position] == 0x22 {
                try readQuotedField()
            } else {
                let start = position
                while position < end, base[position] != 0x2C, base[position] != 0x0A, base[position] != 0x0D {
                    position += 1
                }
                fields.append(UnsafeRawBufferPointer(start: base + start, count: position - start))
            }
            if position >= end { return true }
            switch base[position] {
            case 0x2C:
                position += 1
                if position >= end { fields.append(UnsafeRawBufferPointer(start: base + position, count: 0)); return true }
            case 0x0D where position + 1 < end && base[position + 1] == 0x0A:
                position += 2
                nextLine += 1
                return true
            case 0x0A:
                position += 1
                nextLine += 1
                return true
            default:
                throw CRMStoreError.record(path, line: nextLine, "a quoted field must end before a comma or the line's end")
            }
        }
    }

    /// Reads `"..."` at `position`, unescaping `""` in place, and leaves `position` after the
    /// closing quote.
    private mutating func readQuotedField() throws {
        let startLine = nextLine
        position += 1
        let start = position
        var written = position
        while true {
            guard position < end else {
                throw CRMStoreError.record(path, line: startLine, "a quoted field is not closed")
            }
            let byte = base[position]
            if byte == 0x22 {
                if position + 1 < end, base[position + 1] == 0x22 {
                    base[written] = 0x22
                    written += 1
                    position += 2
                    continue
                }
                position += 1
                break
            }
            if byte == 0x0A { nextLine += 1 }
            // Until the first doubled quote the bytes are already in place; writing them
            // anyway would copy every page that holds a quoted field.
            if written != position { base[written] = byte }
            written += 1
            position += 1
        }
        fields.append(UnsafeRawBufferPointer(start: base + start, count: written - start))
    }
}

extension UnsafeRawBufferPointer {
    /// The field's bytes as a String (for identifiers, labels and messages).
    var text: String { String(decoding: self, as: UTF8.self) }
}
