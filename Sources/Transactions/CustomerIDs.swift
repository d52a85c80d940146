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

    mutating func append<C: Collection>(_ id: C) where C.Element == UInt8 {
        bytes.append(contentsOf: id)
        offsets.append(bytes.count)
    }

    mutating func append(_ pointer: UnsafePointer<UInt8>, count: Int) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
        offsets.append(bytes.count)
    }

    mutating func reserve(ids: Int, bytes byteCount: Int) {
        offsets.reserveCapacity(ids + 1)
        bytes.reserveCapacity(byteCount)
    }

    /// The ids at the given positions, in that order.
    func selecting(_ positions: [Int32]) -> CustomerIDs {
        var result = CustomerIDs()
        result.reserve(ids: positions.count, bytes: bytes.count)
        for p in positions {
            let i = Int(p)
            result.bytes.append(contentsOf: bytes[offsets[i]..<offsets[i + 1]])
            result.offsets.append(result.bytes.count)
        }
        return result
    }
}

/// Maps customer-id bytes to dense indices 0, 1, 2, … in order of first insertion.
///
/// Open addressing with linear probing over a power-of-two table of indices; each id's
/// hash is kept so that growing never rehashes bytes. Written by hand because it is the
/// hottest structure of reading a log: one lookup per transaction row.
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

    /// The index of the id, inserting it if it is new.
    @inline(__always)
    mutating func index(of p: UnsafePointer<UInt8>, count n: Int) -> Int32 {
        let hash = CustomerIndex.hash(p, n)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let existing = slots[slot]
            if existing < 0 { break }
            if hashes[Int(existing)] == hash, equals(Int(existing), p, n) { return existing }
            slot = (slot + 1) & mask
        }
        let index = Int32(hashes.count)
        slots[slot] = index
        hashes.append(hash)
        ids.append(p, count: n)
        if hashes.count * 2 > slots.count { grow() }
        return index
    }

    @inline(__always)
    private func equals(_ index: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let start = ids.offsets[index]
        guard ids.offsets[index + 1] - start == n else { return false }
        return ids.bytes.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress! + start, p, n) == 0
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
