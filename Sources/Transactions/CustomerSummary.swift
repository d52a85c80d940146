/// Per-customer summaries of a transaction log, with the meaning of lifetimes'
/// `summary_data_from_transaction_data` and `calibration_and_holdout_data`.
///
/// - `frequency`: the number of periods with a purchase after the first one (repeat periods);
/// - `recency`: from the first to the last purchase period;
/// - `T`: from the first purchase period to the period of the end of observation (or of
///   calibration, after a split);
/// - `monetaryValue`: the mean value of the repeat periods (0 without repeats);
/// - after a split, `holdout`: purchase periods between the calibration end (exclusive) and
///   the observation end (inclusive), the mean value of their transactions (lifetimes averages
///   rows here, not periods), and the holdout's duration.
///
/// All durations are in `unit`. Columns are stored side by side, one array each, so that
/// models read them without copying.
public struct CustomerSummary: Sendable {
    public var customerIDs: CustomerIDs
    public var frequency: [Int]
    public var recency: [Double]
    public var T: [Double]
    /// nil when the log had no amounts.
    public var monetaryValue: [Double]?
    public var holdout: Holdout?
    public var unit: TimeUnit
    /// How many customers each row stands for, when the file groups identical histories.
    public var weights: [Double]?

    public struct Holdout: Sendable, Equatable {
        public var frequency: [Int]
        public var monetaryValue: [Double]?
        /// The length of the holdout window, the same for every customer.
        public var duration: Double

        public init(frequency: [Int], monetaryValue: [Double]?, duration: Double) {
            self.frequency = frequency
            self.monetaryValue = monetaryValue
            self.duration = duration
        }
    }

    public init(customerIDs: CustomerIDs, frequency: [Int], recency: [Double], T: [Double],
                monetaryValue: [Double]?, holdout: Holdout? = nil, unit: TimeUnit) {
        self.customerIDs = customerIDs
        self.frequency = frequency
        self.recency = recency
        self.T = T
        self.monetaryValue = monetaryValue
        self.holdout = holdout
        self.unit = unit
    }

    public var count: Int { frequency.count }
}

/// How to turn a log into summaries.
public struct SummaryOptions: Sendable, Equatable {
    public var period: PeriodLength
    /// nil: the period's own unit (days for daily periods).
    public var unit: TimeUnit?
    /// The end of the calibration window (inclusive); nil: no holdout split.
    public var calibrationEnd: CalendarDay?
    /// The end of observation (inclusive); nil: the log's last day. Later rows are left out.
    public var observationEnd: CalendarDay?

    public init(period: PeriodLength = .day, unit: TimeUnit? = nil,
                calibrationEnd: CalendarDay? = nil, observationEnd: CalendarDay? = nil) {
        self.period = period
        self.unit = unit
        self.calibrationEnd = calibrationEnd
        self.observationEnd = observationEnd
    }
}

extension CustomerSummary {
    /// Summarises a log.
    ///
    /// Refunds (negative amounts) reduce the value of the purchase period they fall in but
    /// never make a period a purchase on their own; a refund in a period without a purchase
    /// has nothing to reduce and is counted in `TransactionLog.unmatchedRefundCount`.
    /// Customers whose first purchase comes after the calibration end (or observation end)
    /// are left out, as lifetimes does.
    public init(log: TransactionLog, options: SummaryOptions = SummaryOptions()) throws {
        var unmatched = 0
        self = try CustomerSummary.make(log, options, &unmatched)
    }

    /// Like `init(log:options:)`, also returning how many refunds had no purchase to reduce.
    public static func summarize(_ log: TransactionLog, options: SummaryOptions = SummaryOptions())
        throws -> (summary: CustomerSummary, unmatchedRefunds: Int)
    {
        var unmatched = 0
        let summary = try make(log, options, &unmatched)
        return (summary, unmatched)
    }

    private static func make(_ log: TransactionLog, _ options: SummaryOptions, _ unmatchedRefunds: inout Int) throws -> CustomerSummary {
        let unit = options.unit ?? options.period.naturalUnit
        let scale = try PeriodScale(period: options.period, unit: unit)
        let observationEnd = options.observationEnd ?? log.lastDay
        if let calibrationEnd = options.calibrationEnd, calibrationEnd > observationEnd {
            throw TransactionsError.invalidOptions(
                "the calibration end \(calibrationEnd) is after the observation end \(observationEnd)")
        }
        let windows = Windows(
            calibrationEnd: Int32((options.calibrationEnd ?? observationEnd).daysSinceEpoch),
            observationEnd: Int32(observationEnd.daysSinceEpoch),
            split: options.calibrationEnd != nil,
            period: options.period)

        let customerCount = log.customerIDs.count
        let (grouped, starts) = groupByCustomer(log.recordChunks, customerCount: customerCount)
        var rows = [SummaryRow](repeating: SummaryRow(), count: customerCount)
        let threads = customerCount >= 4096 ? 2 : 1
        rows.withUnsafeMutableBufferPointer { output in
            grouped.withUnsafeBufferPointer { records in
                parallelFor(threads) { t in
                    var scratch: [TransactionRecord] = []
                    for c in (customerCount * t / threads)..<(customerCount * (t + 1) / threads) {
                        output[c] = summarizeCustomer(records, starts[c]..<starts[c + 1], &scratch, windows)
                    }
                }
            }
        }

        var kept: [Int32] = []
        kept.reserveCapacity(customerCount)
        for c in 0..<customerCount {
            unmatchedRefunds += rows[c].unmatchedRefunds
            if rows[c].included { kept.append(Int32(c)) }
        }
        guard !kept.isEmpty else {
            let end = options.calibrationEnd ?? observationEnd
            throw TransactionsError.invalidOptions(
                "no customer made a first purchase by \(end); the log runs from \(log.firstDay) to \(log.lastDay)")
        }
        let calibrationT = windows.calibrationEndPeriod
        let summary = CustomerSummary(
            customerIDs: log.customerIDs.selecting(kept),
            frequency: kept.map { rows[Int($0)].frequency },
            recency: kept.map { scale.duration(rows[Int($0)].lastPeriod - rows[Int($0)].firstPeriod) },
            T: kept.map { scale.duration(calibrationT - rows[Int($0)].firstPeriod) },
            monetaryValue: log.hasAmounts ? kept.map { rows[Int($0)].monetaryValue } : nil,
            holdout: windows.split ? Holdout(
                frequency: kept.map { rows[Int($0)].holdoutFrequency },
                monetaryValue: log.hasAmounts ? kept.map { rows[Int($0)].holdoutMonetaryValue } : nil,
                duration: scale.duration(windows.observationEndPeriod - windows.calibrationEndPeriod)) : nil,
            unit: unit)
        return summary
    }
}

/// The calibration and observation windows as days and period ordinals.
private struct Windows {
    var calibrationEnd: Int32
    var observationEnd: Int32
    var split: Bool
    var period: PeriodLength
    var calibrationEndPeriod: Int32
    var observationEndPeriod: Int32

    init(calibrationEnd: Int32, observationEnd: Int32, split: Bool, period: PeriodLength) {
        self.calibrationEnd = calibrationEnd
        self.observationEnd = observationEnd
        self.split = split
        self.period = period
        calibrationEndPeriod = period.ordinal(calibrationEnd)
        observationEndPeriod = period.ordinal(observationEnd)
    }
}

private struct SummaryRow {
    var included = false
    var frequency = 0
    var firstPeriod: Int32 = 0
    var lastPeriod: Int32 = 0
    var monetaryValue = 0.0
    var holdoutFrequency = 0
    var holdoutMonetaryValue = 0.0
    var unmatchedRefunds = 0
}

/// The records of each customer together, in file order: `grouped[starts[c]..<starts[c + 1]]`
/// are customer `c`'s. A stable counting sort on two threads: each counts its half of the
/// records, the counts give each thread its own write positions per customer, and each
/// scatters its half. Thread 0's records of a customer precede thread 1's, so the order
/// within a customer is the file's, whatever the core count.
private func groupByCustomer(_ chunks: [[TransactionRecord]], customerCount: Int) -> (grouped: [TransactionRecord], starts: [Int]) {
    let total = chunks.reduce(0) { $0 + $1.count }
    let threads = total >= 100_000 ? 2 : 1
    // Each thread takes whole chunks, split where the running count passes half.
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
    while t < threads {
        firstChunk[t] = chunks.count
        t += 1
    }

    var counts = [[Int32]](repeating: [], count: threads)
    counts.withUnsafeMutableBufferPointer { slots in
        parallelFor(threads) { t in
            var mine = [Int32](repeating: 0, count: customerCount)
            for chunk in chunks[firstChunk[t]..<firstChunk[t + 1]] {
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
                    for chunk in chunks[firstChunk[t]..<firstChunk[t + 1]] {
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

/// One customer's summary from its records `range` of `all`. Records out of date order
/// (a log not sorted by date) are sorted in `scratch` first.
private func summarizeCustomer(_ all: UnsafeBufferPointer<TransactionRecord>, _ range: Range<Int>,
                               _ scratch: inout [TransactionRecord], _ windows: Windows) -> SummaryRow {
    var sorted = true
    for i in range.dropFirst() where all[i].day < all[i - 1].day {
        sorted = false
        break
    }
    if sorted {
        return summarizeSorted(UnsafeBufferPointer(rebasing: all[range]), windows)
    }
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: all[range])
    scratch.sort { $0.day < $1.day }
    return scratch.withUnsafeBufferPointer { summarizeSorted($0, windows) }
}

/// One customer's summary from its records in date order.
private func summarizeSorted(_ records: UnsafeBufferPointer<TransactionRecord>, _ windows: Windows) -> SummaryRow {
    var row = SummaryRow()
    var i = 0
    let n = records.count
    var repeatValue = 0.0
    var holdoutValue = 0.0
    var holdoutPurchases = 0
    while i < n {
        let day = records[i].day
        if day > windows.observationEnd { break }
        let inHoldout = windows.split && day > windows.calibrationEnd
        let period = windows.period.ordinal(day)
        // One period's records: same period and same side of the calibration end.
        var value = 0.0
        var purchases = 0
        var refunds = 0
        var j = i
        while j < n, records[j].day <= windows.observationEnd {
            let d = records[j].day
            if windows.period.ordinal(d) != period || (windows.split && (d > windows.calibrationEnd) != inHoldout) { break }
            value += records[j].amount
            if records[j].amount >= 0 { purchases += 1 } else { refunds += 1 }
            j += 1
        }
        i = j
        guard purchases > 0 else {
            row.unmatchedRefunds += refunds
            continue
        }
        if inHoldout {
            guard row.included else { continue }
            row.holdoutFrequency += 1
            holdoutPurchases += purchases
            holdoutValue += value
        } else if !row.included {
            row.included = true
            row.firstPeriod = period
            row.lastPeriod = period
        } else {
            row.frequency += 1
            row.lastPeriod = period
            repeatValue += value
        }
    }
    if row.frequency > 0 { row.monetaryValue = repeatValue / Double(row.frequency) }
    // lifetimes averages the holdout's transactions, not its periods (unlike the calibration
    // window's monetary value); Clientele keeps that meaning so the two tools agree.
    if holdoutPurchases > 0 { row.holdoutMonetaryValue = holdoutValue / Double(holdoutPurchases) }
    return row
}
