import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a customer's transactions become one summary row: a fold over its records in date
/// order, kept in 64 bytes so that a million customers' states can be updated row by row.
///
/// Records are grouped into purchase groups: consecutive records of the same period on the
/// same side of the calibration end. A group with a purchase (amount ≥ 0) counts once — the
/// first as the customer's first purchase, later ones as repeats (or holdout purchases); a
/// group of refunds only has nothing to reduce and is counted as unmatched. Amounts are
/// added in file order, group by group, so the sums are the same doubles whichever way the
/// records reach the fold.
///
/// A log in date order is folded as it lies, with no grouping copy: each thread takes a
/// range of customers and walks all records, asking for the state of the customer a few
/// records ahead, so that the states' cache misses overlap. A customer whose records go back
/// in time stops that walk; the records are then grouped by customer and each customer's
/// are sorted by day before the fold, which gives the same result as a sorted log.
///
/// Counts are 32-bit: one customer with 2^31 rows would need 32 GiB of records first.

/// One customer's summary so far.
struct CustomerFold {
    /// The value of the open purchase group.
    var openValue = 0.0
    var repeatValue = 0.0
    var holdoutValue = 0.0
    /// The open group: its period times two, plus one in the holdout; `.min` when none.
    var openGroup: Int32 = .min
    var openPurchases: Int32 = 0
    var openRefunds: Int32 = 0
    /// The latest day seen, to notice records out of date order.
    var lastDay: Int32 = .min
    /// The first purchase period, `.min` before the first purchase.
    var firstPeriod: Int32 = .min
    var lastPeriod: Int32 = 0
    var frequency: Int32 = 0
    var holdoutFrequency: Int32 = 0
    var holdoutPurchases: Int32 = 0
    var unmatchedRefunds: Int32 = 0

    /// Whether the customer made a first purchase in the calibration window.
    var included: Bool { firstPeriod != .min }

    /// The mean value of the repeat periods, 0 without repeats.
    var monetaryValue: Double { frequency > 0 ? repeatValue / Double(frequency) : 0 }

    /// lifetimes averages the holdout's transactions, not its periods (unlike the calibration
    /// window's monetary value); Clientele keeps that meaning so the two tools agree.
    var holdoutMonetaryValue: Double { holdoutPurchases > 0 ? holdoutValue / Double(holdoutPurchases) : 0 }

    /// Adds the customer's next record; false when it is earlier than the previous one.
    @inline(__always)
    mutating func add(day: Int32, amount: Double, _ windows: Windows) -> Bool {
        if day < lastDay { return false }
        lastDay = day
        if day > windows.observationEnd { return true }
        let inHoldout: Int32 = windows.split && day > windows.calibrationEnd ? 1 : 0
        let group = windows.period.ordinal(day) &* 2 &+ inHoldout
        if group != openGroup {
            closeGroup()
            openGroup = group
        }
        openValue += amount
        if amount >= 0 { openPurchases += 1 } else { openRefunds += 1 }
        return true
    }

    /// Counts the open group, after the customer's last record.
    @inline(__always)
    mutating func closeGroup() {
        guard openGroup != .min else { return }
        defer {
            openGroup = .min
            openValue = 0
            openPurchases = 0
            openRefunds = 0
        }
        guard openPurchases > 0 else {
            unmatchedRefunds += openRefunds
            return
        }
        let period = openGroup >> 1
        if openGroup & 1 == 1 {
            guard included else { return }
            holdoutFrequency += 1
            holdoutPurchases += openPurchases
            holdoutValue += openValue
        } else if !included {
            firstPeriod = period
            lastPeriod = period
        } else {
            frequency += 1
            lastPeriod = period
            repeatValue += openValue
        }
    }
}

/// The folds of all customers, by dense customer index, each on its own cache line.
///
/// The fold touches one random state per record, so with many customers nearly every record
/// would also miss the TLB with 4 KiB pages; from `hugePagesFrom` customers on, the states
/// are mapped on their own and marked for transparent huge pages, which Linux grants (when
/// enabled) in 2 MiB pages, and the mapping is given back as the columns are gathered. Below
/// that the states come from the heap in 4 KiB pages: the fold's prefetches hide their TLB
/// misses, and where the host takes back free memory in 2 MiB blocks, a huge page's first
/// touch costs a whole block (on the Xeon the 1M job's summaries took 0.11–0.14 s in 4 KiB
/// pages against 0.13–0.26 s in huge pages, eight alternating pairs; at 10M huge pages kept
/// the summaries at 2.0–2.7 s against 1.9–3.5 s). Memory the heap already holds is reused by
/// the stages after the summaries, where a mapping given back is faulted in again as fresh
/// pages: on the EPYC a fresh page cost about 2.5 µs (the host's fault and the guest's
/// zeroing), and the 1M job's states are 64 MB, a sixth of its page faults (98,800 → 81,300,
/// system time 0.33 → 0.28 s, medians of ten alternating runs).
final class CustomerFolds {
    static let hugePagesFrom = 4_000_000

    private let storage: UnsafeMutablePointer<CustomerFold>
    /// The mapping of its own that holds the states (from `hugePagesFrom` customers on), or
    /// nil for states allocated on the heap.
    private let mapping: (base: UnsafeMutableRawPointer, bytes: Int)?
    let count: Int

    /// `mappedFrom`: `hugePagesFrom` but for tests, which lower it to take a large job's path.
    init(count: Int, mappedFrom: Int = hugePagesFrom) {
        self.count = count
        guard count >= mappedFrom else {
            // Below that, memory from the heap: freed once the summaries are made, it serves
            // the arrays of the stages after them, which would otherwise fault in as many
            // fresh pages (see `hugePagesFrom`).
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, MemoryLayout<CustomerFold>.alignment, max(count, 1) * MemoryLayout<CustomerFold>.stride) == 0,
                  let memory else {
                fatalError("cannot allocate \(count * MemoryLayout<CustomerFold>.stride >> 20) MiB for the customers' summaries")
            }
            mapping = nil
            storage = memory.bindMemory(to: CustomerFold.self, capacity: max(count, 1))
            return
        }
        let hugePage = 2 << 20
        let mappedBytes = (count * MemoryLayout<CustomerFold>.stride + hugePage - 1) / hugePage * hugePage + hugePage
        guard let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("cannot map \(mappedBytes >> 20) MiB for the customers' summaries: \(String(cString: strerror(errno)))")
        }
        // Start on a 2 MiB boundary so that whole huge pages cover the states.
        let address = Int(bitPattern: mapped)
        let aligned = (address + hugePage - 1) / hugePage * hugePage
        let raw = mapped + (aligned - address)
        #if os(Linux)
        _ = madvise(raw, mappedBytes - (aligned - address), MADV_HUGEPAGE)
        #endif
        mapping = (mapped, mappedBytes)
        storage = raw.bindMemory(to: CustomerFold.self, capacity: count)
    }

    deinit {
        if let mapping {
            munmap(mapping.base, mapping.bytes)
        } else {
            free(storage)
        }
    }

    /// Gives the memory of mapped folds below `customer` back to the system, whole huge pages
    /// at a time; they read as fresh zeros afterwards. Gathering the columns in customer
    /// order calls this as it goes, so that a large job's folds shrink while its columns grow
    /// (its peak memory). Folds on the heap are kept to the end, for the stages after.
    func release(below customer: Int) {
        guard mapping != nil else { return }
        let hugePage = 2 << 20
        let end = Int(bitPattern: storage + customer) / hugePage * hugePage
        let start = Int(bitPattern: UnsafeMutableRawPointer(storage))
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    /// Fresh folds for `range`; a thread clears its own range, so the pages are touched
    /// first on the thread that uses them.
    func reset(_ range: Range<Int>) {
        (storage + range.lowerBound).initialize(repeating: CustomerFold(), count: range.count)
    }

    /// Asks for `customer`'s state to be brought into the cache, to be written soon.
    @inline(__always)
    func prefetch(_ customer: Int) {
        clientele_prefetch_for_write(storage + customer)
    }

    @inline(__always)
    subscript(customer: Int) -> CustomerFold {
        get { storage[customer] }
        _modify { yield &storage[customer] }
    }
}

/// The customers of thread `t` of `threads`.
private func customerRange(_ t: Int, of threads: Int, _ count: Int) -> Range<Int> {
    (count * t / threads)..<(count * (t + 1) / threads)
}

/// The customers with a first purchase in the calibration window, in customer order, and
/// the refunds that had no purchase to reduce, once every fold is closed.
struct ClosedFolds {
    var kept: [Int32] = []
    var unmatchedRefunds = 0

    init() {}

    /// The threads' results joined in customer order.
    init(joining perThread: [ClosedFolds]) {
        for part in perThread {
            kept += part.kept
            unmatchedRefunds += part.unmatchedRefunds
        }
    }

    /// Closes the folds of `range`.
    init(closing range: Range<Int>, of folds: CustomerFolds) {
        for c in range {
            folds[c].closeGroup()
            unmatchedRefunds += Int(folds[c].unmatchedRefunds)
            if folds[c].included { kept.append(Int32(c)) }
        }
    }
}

/// Folds the records as they lie in the file; nil, with the folds to be discarded, when
/// some customer's records are not in date order.
func foldInFileOrder(_ chunks: [[TransactionRecord]], into folds: CustomerFolds, _ windows: Windows) -> ClosedFolds? {
    let threads = folds.count >= 4096 ? 2 : 1
    let ahead = 16
    var results = [ClosedFolds?](repeating: nil, count: threads)
    results.withUnsafeMutableBufferPointer { results in
        parallelFor(threads) { t in
            let range = customerRange(t, of: threads, folds.count)
            folds.reset(range)
            let first = Int32(range.lowerBound)
            let span = UInt32(range.count)
            for chunk in chunks {
                let inOrder = chunk.withUnsafeBufferPointer { records in
                    for (i, record) in records.enumerated() {
                        // The state of the customer `ahead` records on is asked for now, so
                        // that the misses overlap. Another thread's customer is replaced by this
                        // thread's first state: no branch, and no line another thread writes.
                        if i + ahead < records.count {
                            let next = records[i + ahead].customer
                            folds.prefetch(UInt32(bitPattern: next &- first) < span ? Int(next) : Int(first))
                        }
                        guard UInt32(bitPattern: record.customer &- first) < span else { continue }
                        if !folds[Int(record.customer)].add(day: record.day, amount: record.amount, windows) { return false }
                    }
                    return true
                }
                if !inOrder { return }
            }
            results[t] = ClosedFolds(closing: range, of: folds)
        }
    }
    guard results.allSatisfy({ $0 != nil }) else { return nil }
    return ClosedFolds(joining: results.map { $0! })
}

/// Folds each customer's records after grouping them by customer and sorting them by day.
func foldGrouped(_ chunks: [[TransactionRecord]], into folds: CustomerFolds, _ windows: Windows) -> ClosedFolds {
    let (grouped, starts) = groupByCustomer(chunks, customerCount: folds.count)
    let threads = folds.count >= 4096 ? 2 : 1
    var results = [ClosedFolds](repeating: ClosedFolds(), count: threads)
    results.withUnsafeMutableBufferPointer { results in
        grouped.withUnsafeBufferPointer { all in
            parallelFor(threads) { t in
                let range = customerRange(t, of: threads, folds.count)
                folds.reset(range)
                var scratch: [TransactionRecord] = []
                for c in range {
                    func foldAll(_ records: UnsafeBufferPointer<TransactionRecord>) {
                        for record in records {
                            _ = folds[c].add(day: record.day, amount: record.amount, windows)
                        }
                    }
                    let records = UnsafeBufferPointer(rebasing: all[starts[c]..<starts[c + 1]])
                    if records.indices.dropFirst().allSatisfy({ records[$0].day >= records[$0 - 1].day }) {
                        foldAll(records)
                    } else {
                        scratch.removeAll(keepingCapacity: true)
                        scratch.append(contentsOf: records)
                        scratch.sort { $0.day < $1.day }
                        scratch.withUnsafeBufferPointer(foldAll)
                    }
                }
                results[t] = ClosedFolds(closing: range, of: folds)
            }
        }
    }
    return ClosedFolds(joining: Array(results))
}

/// The records of each customer together, in file order: `grouped[starts[c]..<starts[c + 1]]`
/// are customer `c`'s. A stable counting sort on two threads: each counts its half of the
/// records, the counts give each thread its own write positions per customer, and each
/// scatters its half. Thread 0's records of a customer precede thread 1's, so the order
/// within a customer is the file's, whatever the core count.
private func groupByCustomer(_ chunks: [[TransactionRecord]], customerCount: Int) -> (grouped: [TransactionRecord], starts: [Int]) {
    let total = chunks.reduce(0) { $0 + $1.count }
    let halves = chunkRanges(chunks, threads: total >= 100_000 ? 2 : 1)
    let threads = halves.count
    var counts = [[Int32]](repeating: [], count: threads)
    counts.withUnsafeMutableBufferPointer { slots in
        parallelFor(threads) { t in
            var mine = [Int32](repeating: 0, count: customerCount)
            for chunk in chunks[halves[t]] {
                for record in chunk { mine[Int(record.customer)] += 1 }
            }
            slots[t] = mine
        }
    }
    var starts = [Int](repeating: 0, count: customerCount + 1)
    var positions = [[Int]](repeating: [Int](repeating: 0, count: customerCount), count: threads)
    var next = 0
    for c in 0..<customerCount {
        starts[c] = next
        for t in 0..<threads {
            positions[t][c] = next
            next += Int(counts[t][c])
        }
    }
    starts[customerCount] = next

    var grouped = [TransactionRecord](repeating: TransactionRecord(customer: 0, day: 0, amount: 0), count: total)
    grouped.withUnsafeMutableBufferPointer { output in
        positions.withUnsafeMutableBufferPointer { positionSlots in
            parallelFor(threads) { t in
                positionSlots[t].withUnsafeMutableBufferPointer { position in
                    for chunk in chunks[halves[t]] {
                        for record in chunk {
                            let c = Int(record.customer)
                            output[position[c]] = record
                            position[c] += 1
                        }
                    }
                }
            }
        }
    }
    return (grouped, starts)
}
