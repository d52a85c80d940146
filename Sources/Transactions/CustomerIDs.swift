import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Customer ids as they appear in a file, kept as bytes in one arena.
///
/// Ids are strings (`00004` keeps its zeros), and a log can hold millions of them; one
/// arena with offsets avoids a heap object per id and lets the CSV writer copy bytes
/// straight through. `subscript` makes a `String` only when asked.
public struct CustomerIDs: RandomAccessCollection, Sendable, Equatable {
    var bytes: [UInt8] = []
    /// `offsets[i]..<offsets[i + 1]` are the bytes of id `i`.
    var offsets: [Int] = [0]

    public init() {}

    public init<S: Sequence>(_ ids: S) where S.Element == String {
        for id in ids { append(Array(id.utf8)) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { offsets.count - 1 }

    public subscript(position: Int) -> String {
        String(decoding: bytes[offsets[position]..<offsets[position + 1]], as: UTF8.self)
    }

    /// Whether an id's bytes are UTF-8. Ids go into CSV and JSON files, SQLite's TEXT and
    /// PostgreSQL's; an id in another encoding (a Latin-1 export's `café`) would be stored as
    /// bytes no reader decodes, or fail the PostgreSQL load long after the run, so the readers
    /// refuse it where they find it. ASCII, eight bytes at a time, needs no decoding.
    @inline(__always)
    public static func isUTF8(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n, p[i] < 0x80 { i += 1 }
        guard i < n else { return true }
        // Decoding replaces each ill-formed sequence with U+FFFD (3 bytes): the bytes are
        // UTF-8 exactly when decoding gives them back.
        let rest = UnsafeBufferPointer(start: p + i, count: n - i)
        return String(decoding: rest, as: UTF8.self).utf8.elementsEqual(rest)
    }

    /// The first position whose id an earlier position has, and that earlier one; nil when
    /// every id is distinct. `hashes` (`CustomerIndex.hash` of each id), when a reader already
    /// took them, spare hashing again; each id's slot of the index is asked for 16 ids ahead,
    /// so that over a million ids the cache misses overlap.
    func firstRepeat(hashes known: [UInt64]? = nil) -> (position: Int, earlier: Int)? {
        bytes.withUnsafeBufferPointer { bytes in
            let base = { (i: Int) in bytes.baseAddress.map { $0 + offsets[i] } ?? UnsafePointer(bitPattern: 1)! }
            let hashes = known ?? (0..<count).map { CustomerIndex.hash(base($0), offsets[$0 + 1] - offsets[$0]) }
            var index = CustomerIndex(capacity: count)
            let lookahead = 16
            for i in 0..<Swift.min(lookahead, count) { index.prefetch(hash: hashes[i]) }
            for i in 0..<count {
                if i + lookahead < count { index.prefetch(hash: hashes[i + lookahead]) }
                let length = offsets[i + 1] - offsets[i]
                let earlier = index.find(base(i), count: length, hash: hashes[i])
                if earlier >= 0 { return (i, Int(earlier)) }
                _ = index.insert(base(i), count: length, hash: hashes[i])
            }
            return nil
        }
    }

    /// Refuses the bytes of an id read at `location` when they are not UTF-8.
    static func requireUTF8(_ id: UnsafeBufferPointer<UInt8>, at location: SourceLocation) throws {
        guard id.isEmpty || isUTF8(id.baseAddress!, id.count) else {
            throw TransactionsError.invalidInput(location, notUTF8Message(Array(id)))
        }
    }

    /// The refusal of an id that is not UTF-8, its bytes outside printable ASCII as \xNN.
    public static func notUTF8Message(_ id: [UInt8]) -> String {
        let shown = id.map { (0x20..<0x7F).contains($0) && $0 != 0x5C ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16, uppercase: true) }
        return "customer id \"\(shown.joined())\" is not UTF-8; convert the file first (for a Latin-1 file: iconv -f latin1 -t utf-8)"
    }

    mutating func append<C: Collection>(_ id: C) where C.Element == UInt8 {
        bytes.append(contentsOf: id)
        offsets.append(bytes.count)
    }

    mutating func append(_ pointer: UnsafePointer<UInt8>, count: Int) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
        offsets.append(bytes.count)
    }

    /// The ids at the given positions, in that order.
    func selecting(_ positions: [Int32]) -> CustomerIDs {
        bytes.withUnsafeBufferPointer { source in
            CustomerIDs(count: positions.count,
                        length: { offsets[Int(positions[$0]) + 1] - offsets[Int(positions[$0])] },
                        write: { i, target in
                            let start = offsets[Int(positions[i])]
                            target.update(from: source.baseAddress! + start, count: offsets[Int(positions[i]) + 1] - start)
                        })
        }
    }

    /// `count` ids, id `i` of `length(i)` bytes that `write(i, target)` puts at `target`. The
    /// offsets are summed first, so that the bytes can be written on two threads.
    init(count: Int, length: (Int) -> Int, write: (Int, UnsafeMutablePointer<UInt8>) -> Void) {
        var offsets = [Int](repeating: 0, count: count + 1)
        var total = 0
        for i in 0..<count {
            total += length(i)
            offsets[i + 1] = total
        }
        let threads = count >= 100_000 ? 2 : 1
        bytes = offsets.withUnsafeBufferPointer { offsets in
            [UInt8](unsafeUninitializedCapacity: total) { target, initialized in
                parallelFor(threads) { t in
                    for i in (count * t / threads)..<(count * (t + 1) / threads) {
                        write(i, target.baseAddress! + offsets[i])
                    }
                }
                initialized = total
            }
        }
        self.offsets = offsets
    }
}

/// Maps customer-id bytes to dense indices 0, 1, 2, … in order of first insertion, by open
/// addressing with linear probing over a power-of-two table; each id's hash is kept so that
/// growing never rehashes bytes.
///
/// Numbered ids (`00004`, `C00000022`) never come here: the reader keys them by their number
/// (`NumberedIDShape`), which costs no memory access, where a hash table costs several cache
/// misses per row on a million customers. Written by hand because it is the hottest
/// structure of reading a log whose ids are not numbered: one lookup per row.
struct CustomerIndex {
    private(set) var ids = CustomerIDs()
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { hashes.count }

    /// The index of the id, or -1 when it is not in the index. Reads only, so several
    /// threads may call it at once while nobody inserts.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, count n: Int, hash: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let existing = slots[slot]
            if existing < 0 { return -1 }
            if hashes[Int(existing)] == hash, equals(Int(existing), p, n) { return existing }
            slot = (slot + 1) & mask
        }
    }

    /// Asks for the slot where a lookup of `hash` starts, ahead of the lookup: over a
    /// million ids the table outgrows the caches, and a loop that knows its next ids can
    /// overlap their misses.
    @inline(__always)
    func prefetch(hash: UInt64) {
        slots.withUnsafeBufferPointer { clientele_prefetch($0.baseAddress! + (Int(truncatingIfNeeded: hash) & mask)) }
    }

    /// Inserts an id known to be absent; returns its new index.
    @inline(__always)
    mutating func insert(_ p: UnsafePointer<UInt8>, count n: Int, hash: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        let index = Int32(hashes.count)
        slots[slot] = index
        hashes.append(hash)
        ids.append(p, count: n)
        if hashes.count * 2 > slots.count { grow() }
        return index
    }

    /// The stored hash of id `index`, so that merging never hashes bytes again.
    func storedHash(_ index: Int) -> UInt64 { hashes[index] }

    @inline(__always)
    private func equals(_ index: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let start = ids.offsets[index]
        guard ids.offsets[index + 1] - start == n else { return false }
        return ids.bytes.withUnsafeBufferPointer { stored in
            let q = stored.baseAddress! + start
            // Ids are short: a loop beats a call to memcmp.
            if n <= 16 {
                for i in 0..<n where q[i] != p[i] { return false }
                return true
            }
            return memcmp(q, p, n) == 0
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (i, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i)
        }
    }

    /// A 64-bit hash of a short byte string, eight bytes at a time with a multiply-xorshift
    /// mix (the finaliser of MurmurHash3), good enough for ids that often differ in one digit.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ tail)
        }
        return h
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var k = value &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}

/// The shape of a numbered id: a prefix of at most four non-digit bytes, then exactly
/// `width` digits (leading zeros included, so `0042` and `42` stay different customers).
struct NumberedIDShape {
    /// Numbers from here on take the hash path, which bounds the reader's per-number
    /// tables at 2^24 entries.
    static let limit = 1 << 24
    private var prefix: UInt32
    private var prefixLength: Int
    private var width: Int

    /// The shape of `id`, or nil when it is not a numbered id.
    init?(firstID p: UnsafePointer<UInt8>, _ n: Int) {
        var k = 0
        while k < n, k < 5, !(p[k] >= 48 && p[k] <= 57) { k += 1 }
        guard k <= 4, n - k >= 1, n - k <= 9 else { return nil }
        prefixLength = k
        width = n - k
        prefix = 0
        for i in 0..<k { prefix |= UInt32(p[i]) << (8 * UInt32(i)) }
        guard number(p, n) != nil else { return nil }
    }

    /// The id's number when it has this shape and the number is below `limit`.
    @inline(__always)
    func number(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        guard n == prefixLength + width else { return nil }
        var head: UInt32 = 0
        for i in 0..<prefixLength { head |= UInt32(p[i]) << (8 * UInt32(i)) }
        guard head == prefix else { return nil }
        var value = 0
        var i = prefixLength
        if width >= 8 {
            // The leading digits one by one, the last eight at once (SWAR): each byte must
            // be 0x30…0x39, then pairs, quads and the octet are combined by multiplication.
            while i < n - 8 {
                let d = Int(p[i]) &- 48
                guard d >= 0, d <= 9 else { return nil }
                value = value * 10 + d
                i += 1
            }
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let tens: UInt64 = 0x3030_3030_3030_3030
            guard w & 0xF0F0_F0F0_F0F0_F0F0 == tens, (w &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == tens else { return nil }
            var v = w &- tens
            v = (v &* 10 &+ (v >> 8)) & 0x00FF_00FF_00FF_00FF
            v = (v &* 100 &+ (v >> 16)) & 0x0000_FFFF_0000_FFFF
            v = (v &* 10000 &+ (v >> 32)) & 0xFFFF_FFFF
            value = value * 100_000_000 + Int(v)
        } else {
            while i < n {
                let d = Int(p[i]) &- 48
                guard d >= 0, d <= 9 else { return nil }
                value = value * 10 + d
                i += 1
            }
        }
        return value < NumberedIDShape.limit ? value : nil
    }

    /// The bytes of an id of this shape.
    var length: Int { prefixLength + width }

    /// Writes the id whose number is `number`: the prefix, then the digits with leading zeros.
    @inline(__always)
    func write(_ number: Int, to target: UnsafeMutablePointer<UInt8>) {
        for i in 0..<prefixLength { target[i] = UInt8(truncatingIfNeeded: prefix >> (8 * UInt32(i))) }
        var rest = number
        var i = prefixLength + width - 1
        while i >= prefixLength {
            target[i] = UInt8(truncatingIfNeeded: 48 + rest % 10)
            rest /= 10
            i -= 1
        }
    }
}
