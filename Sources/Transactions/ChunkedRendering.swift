/// Text made from many rows, rendered a chunk of rows at a time on two threads and handed on
/// in row order, so that a file of a million rows or more is never held whole: two chunks at
/// a time exist, rendered side by side, then consumed (written, hashed) one after the other.
///
/// A 10M-customer job's `assignments.csv` is 1.4 GB; rendered whole it was the largest single
/// allocation of the run.
///
/// `chunkRows` nil: 65,536 rows, or half the rows when that is fewer (but not under 2,048), so
/// that a smaller file still renders on both threads.
public func renderInOrder(rows count: Int, chunkRows: Int? = nil,
                          render: (_ rows: Range<Int>, _ bytes: inout [UInt8]) -> Void,
                          consume: (_ bytes: [UInt8]) throws -> Void) rethrows {
    let chunkRows = chunkRows ?? min(65_536, max(2_048, (count + 1) / 2))
    var start = 0
    while start < count {
        let chunks = (0..<2).map { c -> Range<Int> in
            let lower = min(count, start + c * chunkRows)
            return lower..<min(count, lower + chunkRows)
        }.filter { !$0.isEmpty }
        var rendered = [[UInt8]](repeating: [], count: chunks.count)
        rendered.withUnsafeMutableBufferPointer { slots in
            parallelFor(chunks.count) { c in
                var bytes: [UInt8] = []
                render(chunks[c], &bytes)
                slots[c] = bytes
            }
        }
        for bytes in rendered { try consume(bytes) }
        start = chunks.last!.upperBound
    }
}

/// The 64-bit FNV-1a hash, fed in pieces: the same value as over the pieces joined.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ bytes: [UInt8]) {
        var hash = value
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        value = hash
    }

    /// `fnv1a64:` and the hash in 16 hexadecimal digits.
    public var fingerprint: String {
        let hex = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
