/// Customer keys while a log is read, and their renumbering in order of first appearance.
///
/// The reader's threads key each row's customer without sharing anything mutable:
/// - a numbered id (`C00000042`, of the shape of the log's first id) by its number, in
///   `0..<NumberedIDShape.limit` — no table, no lookup, no merge;
/// - any other id by `NumberedIDShape.limit` plus its index in the reader's hash index (or,
///   until the block's merge, minus its index in the part's own index, minus one).
///
/// Once the whole file is read, one pass over the records in file order finds each key's
/// first appearance, on two threads: each marks the keys of its half of the records in a
/// bitmap and lists the new ones in order; the second list, less the keys of the first
/// half, follows the first. The records are then renumbered to dense indices in that
/// order, which is the order of the summary's rows, the same on any number of cores.
enum CustomerKeys {
    static let hashedBase = Int32(NumberedIDShape.limit)

    /// Renumbers the records' keys to dense indices in order of first appearance; returns
    /// the ids in that order. `numberSpan` bounds the numbers used; `hashed` holds the ids
    /// of the hashed keys.
    static func renumber(_ chunks: inout [[TransactionRecord]], numberSpan: Int, shape: NumberedIDShape?,
                         hashed: CustomerIDs) -> CustomerIDs {
        let keySpan = numberSpan + hashed.count
        let shift = Int32(numberSpan) - hashedBase
        /// A key's place in `0..<keySpan`: numbers first, then hashed ids.
        @inline(__always) func slot(_ key: Int32) -> Int { Int(key < hashedBase ? key : key &+ shift) }

        let halves = chunkRanges(chunks, threads: chunks.reduce(0) { $0 + $1.count } >= 100_000 ? 2 : 1)
        var seen = [[UInt64]](repeating: [], count: halves.count)
        var firsts = [[Int32]](repeating: [], count: halves.count)
        seen.withUnsafeMutableBufferPointer { seenSlots in
            firsts.withUnsafeMutableBufferPointer { firstSlots in
                parallelFor(halves.count) { t in
                    var marks = [UInt64](repeating: 0, count: keySpan / 64 + 1)
                    var found: [Int32] = []
                    marks.withUnsafeMutableBufferPointer { marks in
                        for chunk in chunks[halves[t]] {
                            for record in chunk {
                                let s = slot(record.customer)
                                let bit: UInt64 = 1 << UInt64(s & 63)
                                if marks[s >> 6] & bit == 0 {
                                    marks[s >> 6] |= bit
                                    found.append(Int32(s))
                                }
                            }
                        }
                    }
                    seenSlots[t] = marks
                    firstSlots[t] = found
                }
            }
        }
        var order = firsts[0]
        for t in 1..<halves.count {
            for s in firsts[t] where seen[0][Int(s) >> 6] & (1 << UInt64(s & 63)) == 0 { order.append(s) }
        }
        seen = []
        firsts = []

        // Each thread numbers half of the keys: they are distinct, so the writes never meet.
        var dense = [Int32](repeating: 0, count: keySpan)
        dense.withUnsafeMutableBufferPointer { dense in
            parallelFor(halves.count) { t in
                for index in (order.count * t / halves.count)..<(order.count * (t + 1) / halves.count) {
                    dense[Int(order[index])] = Int32(index)
                }
            }
        }
        let ids = hashed.bytes.withUnsafeBufferPointer { hashedBytes in
            CustomerIDs(count: order.count,
                        length: { i in
                            let s = Int(order[i])
                            return s < numberSpan ? shape!.length : hashed.offsets[s - numberSpan + 1] - hashed.offsets[s - numberSpan]
                        },
                        write: { i, target in
                            let s = Int(order[i])
                            if s < numberSpan {
                                shape!.write(s, to: target)
                            } else {
                                let start = hashed.offsets[s - numberSpan]
                                target.update(from: hashedBytes.baseAddress! + start, count: hashed.offsets[s - numberSpan + 1] - start)
                            }
                        })
        }
        dense.withUnsafeBufferPointer { dense in
            chunks.withUnsafeMutableBufferPointer { slots in
                parallelFor(halves.count) { t in
                    for i in halves[t] {
                        slots[i].withUnsafeMutableBufferPointer { records in
                            for k in records.indices { records[k].customer = dense[slot(records[k].customer)] }
                        }
                    }
                }
            }
        }
        return ids
    }
}

/// Splits chunks of records into `threads` runs of whole chunks, cut where the running
/// count of records passes each equal share.
func chunkRanges(_ chunks: [[TransactionRecord]], threads: Int) -> [Range<Int>] {
    let total = chunks.reduce(0) { $0 + $1.count }
    var firstChunk = [Int](repeating: chunks.count, count: threads + 1)
    firstChunk[0] = 0
    var running = 0
    var t = 1
    for (i, chunk) in chunks.enumerated() {
        while t < threads, running >= total * t / threads {
            firstChunk[t] = i
            t += 1
        }
        running += chunk.count
    }
    return (0..<threads).map { firstChunk[$0]..<firstChunk[$0 + 1] }
}
