/// The assignments read and checked on a thread of their own, in batches, while the export
/// loads the previous batch (SQLite's inserts, or PostgreSQL's COPY while the server stores
/// the rows): on two cores the load then takes about as long as the slower of the two
/// halves instead of their sum.
///
/// Hazards and their guards: at most `depth` batches wait, so memory stays a few megabytes
/// whatever the file's size; an error while reading is handed to the loading side at its
/// place in the stream (after the rows before it); when the loading side stops early (a
/// constraint error, a lost connection), `stop` ends the reading and waits for the thread,
/// so nothing reads the file after the export returns, and `next` returns nil from then on,
/// so a COPY task abandoned on a lost connection never waits for a batch. A PostgreSQL
/// export's task blocks in `next` while the batch is being read: a few milliseconds, on a
/// thread that depends on no task.
import Foundation

final class AssignmentBatches: @unchecked Sendable {
    /// Rows in a batch: customer ids in one byte arena, each row's segment as its position
    /// in the run's segments, eight measures per row (NaN for NULL), and each row's line for
    /// error messages.
    struct Batch {
        var idBytes: [UInt8] = []
        var idEnds: [Int] = []
        var segmentIndexes: [Int] = []
        var measures: [Double] = []
        var lines: [Int] = []
        var count: Int { segmentIndexes.count }
        /// Where row `row`'s customer id lies in `idBytes`.
        func idRange(_ row: Int) -> Range<Int> { (row == 0 ? 0 : idEnds[row - 1])..<idEnds[row] }
    }

    static let rowsPerBatch = 8192
    static let depth = 4

    let path: String
    private let condition = NSCondition()
    private var ready: [Batch] = []
    private var finished = false
    private var failure: (any Error)?
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `rows` on a new thread.
    init(_ rows: AssignmentRows) {
        path = rows.path
        let thread = Thread { [self] in
            read(rows)
            done.signal()
        }
        thread.start()
    }

    private func read(_ rows: AssignmentRows) {
        var batch = Batch()
        do {
            while try rows.next() {
                batch.idBytes.append(contentsOf: rows.customerID)
                batch.idEnds.append(batch.idBytes.count)
                batch.segmentIndexes.append(rows.segmentIndex)
                batch.measures.append(contentsOf: rows.measures)
                batch.lines.append(rows.line)
                if batch.count == Self.rowsPerBatch {
                    guard hand(batch) else { return }
                    batch = Batch()
                }
            }
            if batch.count > 0, !hand(batch) { return }
        } catch {
            _ = hand(batch)
            condition.lock()
            failure = error
            condition.unlock()
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a batch, waiting while `depth` are queued; false once stopped.
    private func hand(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= Self.depth && !stopped { condition.wait() }
        guard !stopped else { return false }
        ready.append(batch)
        condition.broadcast()
        return true
    }

    /// The next batch, nil at the end, or the error that ended the reading.
    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished && failure == nil && !stopped { condition.wait() }
        if !ready.isEmpty {
            condition.broadcast()
            return ready.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Ends the reading (if it still runs) and waits for its thread; `next` then returns nil.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        done.wait()
    }
}
