import Dispatch

/// Text made from many rows, rendered a chunk of rows at a time on two threads and handed on
/// in row order, so that a file of a million rows or more is never held whole: the rows go in
/// rounds of two chunks, rendered side by side, and while one round is consumed (written,
/// hashed) on the calling thread the next is rendered, so the writing does not leave the
/// cores idle. At most two rounds exist at a time.
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
    let rounds = stride(from: 0, to: count, by: 2 * chunkRows).map { start in
        (0..<2).map { c -> Range<Int> in
            let lower = min(count, start + c * chunkRows)
            return lower..<min(count, lower + chunkRows)
        }.filter { !$0.isEmpty }
    }
    guard !rounds.isEmpty else { return }
    try withoutActuallyEscaping(render) { render in
        let shared = UncheckedSendable(value: render)
        @Sendable func renderRound(_ chunks: [Range<Int>]) -> [[UInt8]] {
            var rendered = [[UInt8]](repeating: [], count: chunks.count)
            rendered.withUnsafeMutableBufferPointer { slots in
                let target = UncheckedSendable(value: slots)
                parallelFor(chunks.count) { c in
                    var bytes: [UInt8] = []
                    shared.value(chunks[c], &bytes)
                    target.value[c] = bytes
                }
            }
            return rendered
        }
        var current = renderRound(rounds[0])
        for r in rounds.indices {
            let next = RoundBox()
            let group = DispatchGroup()
            if r + 1 < rounds.count {
                let chunks = rounds[r + 1]
                DispatchQueue.global().async(group: group) { next.rendered = renderRound(chunks) }
            }
            // The next round reads `render`, which must not outlive this call: it is awaited
            // even when consuming throws.
            defer { group.wait() }
            for bytes in current { try consume(bytes) }
            group.wait()
            current = next.rendered
        }
    }
}

/// A round rendered on another thread, read once that thread is done.
private final class RoundBox: @unchecked Sendable {
    var rendered: [[UInt8]] = []
}
