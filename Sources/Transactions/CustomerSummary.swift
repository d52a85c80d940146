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

    /// What a command says of the refunds that had no purchase to reduce.
    public static func unmatchedRefundsNote(_ count: Int) -> String {
        "\(count) refunds fell in periods without a purchase and were not counted"
    }

    /// Like `init(log:options:)`, also returning how many refunds had no purchase to reduce.
    public static func summarize(_ log: TransactionLog, options: SummaryOptions = SummaryOptions())
        throws -> (summary: CustomerSummary, unmatchedRefunds: Int)
    {
        var unmatched = 0
        let summary = try make(log, options, &unmatched)
        return (summary, unmatched)
    }

    /// The summaries of one log under several options (a job's whole history and its
    /// calibration split), made one after the other on the same per-customer fold states:
    /// at 10M customers those are 640 MB, and memory the process already holds is refilled
    /// far faster than fresh memory is faulted in.
    /// Also returns, as `summarize` does, how many refunds had no purchase to reduce, in the
    /// first summary.
    public static func summaries(_ log: TransactionLog, options: [SummaryOptions]) throws
        -> (summaries: [CustomerSummary], unmatchedRefunds: Int)
    {
        try summaries(log, options: options, foldsMappedFrom: CustomerFolds.hugePagesFrom)
    }

    /// `foldsMappedFrom`: `CustomerFolds.hugePagesFrom` but for tests, which lower it to take a
    /// large job's path (folds in a mapping of their own, given back as the columns are
    /// gathered) on a small log.
    static func summaries(_ log: TransactionLog, options: [SummaryOptions], foldsMappedFrom: Int) throws
        -> (summaries: [CustomerSummary], unmatchedRefunds: Int)
    {
        let folds = CustomerFolds(count: log.customerIDs.count, mappedFrom: foldsMappedFrom)
        var counts = [Int](repeating: 0, count: options.count)
        let made = try options.indices.map { i in
            try make(log, options[i], &counts[i], folds: folds, releasing: i == options.count - 1)
        }
        return (made, counts.first ?? 0)
    }

    /// `folds`: states to reuse (made when nil); `releasing`: give their memory back as the
    /// columns are gathered (the last summary made on them).
    private static func make(_ log: TransactionLog, _ options: SummaryOptions, _ unmatchedRefunds: inout Int,
                             folds reused: CustomerFolds? = nil, releasing: Bool = true) throws -> CustomerSummary {
        let unit = options.unit ?? options.period.naturalUnit
        let scale = try PeriodScale(period: options.period, unit: unit)
        let observationEnd = options.observationEnd ?? log.lastDay
        if let calibrationEnd = options.calibrationEnd, options.period.periods(after: calibrationEnd, through: observationEnd) < 1 {
            // An empty holdout window would give every customer a holdout of length 0 (and
            // the days after the calibration end in the same period purchases in it).
            let end = options.observationEnd == nil ? "the log's last day, \(observationEnd)" : "the observation end \(observationEnd)"
            throw TransactionsError.invalidOptions(
                "the calibration end \(calibrationEnd) must fall in an earlier \(options.period.rawValue) than \(end); the holdout window would be empty")
        }
        let windows = Windows(
            calibrationEnd: Int32((options.calibrationEnd ?? observationEnd).daysSinceEpoch),
            observationEnd: Int32(observationEnd.daysSinceEpoch),
            split: options.calibrationEnd != nil,
            period: options.period)

        let folds = reused ?? CustomerFolds(count: log.customerIDs.count)
        let closed = foldInFileOrder(log.recordChunks, into: folds, windows) ?? foldGrouped(log.recordChunks, into: folds, windows)
        unmatchedRefunds += closed.unmatchedRefunds
        let kept = closed.kept
        guard !kept.isEmpty else {
            let end = options.calibrationEnd ?? observationEnd
            throw TransactionsError.invalidOptions(
                "no customer made a first purchase by \(end); the log runs from \(log.firstDay) to \(log.lastDay)")
        }

        // The numbers in two halves of the customers, one per thread, the second thread
        // selecting the ids first; each pass in customer order. When every customer is kept,
        // the log's ids are shared, not copied.
        var customerIDs = log.customerIDs
        let selectsIDs = kept.count < log.customerIDs.count
        let columns = SummaryColumns(count: kept.count, split: windows.split, hasAmounts: log.hasAmounts) { target in
            guard kept.count >= 4096 else {
                SummaryColumns.gather(0..<kept.count, into: target, kept, folds, windows, scale, releasing: releasing)
                if selectsIDs { customerIDs = log.customerIDs.selecting(kept) }
                return
            }
            // The first thread's share is larger when the second also selects the ids.
            let middle = selectsIDs ? kept.count * 5 / 8 : kept.count / 2
            parallelFor(2) { t in
                if t == 0 {
                    SummaryColumns.gather(0..<middle, into: target, kept, folds, windows, scale, releasing: releasing)
                } else {
                    if selectsIDs { customerIDs = log.customerIDs.selecting(kept) }
                    SummaryColumns.gather(middle..<kept.count, into: target, kept, folds, windows, scale, releasing: false)
                }
            }
        }
        let summary = CustomerSummary(
            customerIDs: customerIDs,
            frequency: columns.frequency, recency: columns.recency, T: columns.T,
            monetaryValue: log.hasAmounts ? columns.monetaryValue : nil,
            holdout: windows.split ? Holdout(
                frequency: columns.holdoutFrequency,
                monetaryValue: log.hasAmounts ? columns.holdoutMonetaryValue : nil,
                duration: scale.duration(windows.observationEndPeriod - windows.calibrationEndPeriod)) : nil,
            unit: unit)
        return summary
    }
}

/// The numeric columns of the kept customers, gathered from their folds; each thread fills
/// its own stretch of customers (`gather`) while the arrays are built in place.
private struct SummaryColumns {
    var frequency: [Int] = [], holdoutFrequency: [Int] = []
    var recency: [Double] = [], T: [Double] = [], monetaryValue: [Double] = [], holdoutMonetaryValue: [Double] = []

    /// Where one customer's numbers go.
    struct Targets: @unchecked Sendable {
        let frequency, holdoutFrequency: UnsafeMutablePointer<Int>?
        let recency, T, monetaryValue, holdoutMonetaryValue: UnsafeMutablePointer<Double>?
    }

    /// Columns of `count` customers; `fill` writes every customer's numbers through the targets
    /// (the holdout's and the amounts' are nil when the summary has none).
    init(count: Int, split: Bool, hasAmounts: Bool, _ fill: (Targets) -> Void) {
        func build<Element>(_ present: Bool, _ body: (UnsafeMutablePointer<Element>?) -> Void) -> [Element] {
            [Element](unsafeUninitializedCapacity: present ? count : 0) { buffer, initialised in
                body(present ? buffer.baseAddress : nil)
                initialised = present ? count : 0
            }
        }
        var holdoutFrequency: [Int] = [], recency: [Double] = [], T: [Double] = []
        var monetaryValue: [Double] = [], holdoutMonetaryValue: [Double] = []
        frequency = build(true) { f in
            holdoutFrequency = build(split) { hf in
                recency = build(true) { r in
                    T = build(true) { t in
                        monetaryValue = build(hasAmounts) { m in
                            holdoutMonetaryValue = build(split && hasAmounts) { hm in
                                fill(Targets(frequency: f, holdoutFrequency: hf, recency: r, T: t, monetaryValue: m,
                                             holdoutMonetaryValue: hm))
                            }
                        }
                    }
                }
            }
        }
        (self.holdoutFrequency, self.recency, self.T) = (holdoutFrequency, recency, T)
        (self.monetaryValue, self.holdoutMonetaryValue) = (monetaryValue, holdoutMonetaryValue)
    }

    /// Customers `part` of `kept`, in order. `releasing`: give the folds' memory back as the
    /// pass leaves them behind (only the thread with the lowest customers may).
    static func gather(_ part: Range<Int>, into target: Targets, _ kept: [Int32], _ folds: CustomerFolds, _ windows: Windows,
                       _ scale: PeriodScale, releasing: Bool) {
        let calibrationT = windows.calibrationEndPeriod
        for i in part {
            let c = Int(kept[i])
            if releasing, i & 0xFFFF == 0xFFFF { folds.release(below: c) }
            let fold = folds[c]
            target.frequency![i] = Int(fold.frequency)
            target.recency![i] = scale.duration(fold.lastPeriod - fold.firstPeriod)
            target.T![i] = scale.duration(calibrationT - fold.firstPeriod)
            target.monetaryValue?[i] = fold.monetaryValue
            target.holdoutFrequency?[i] = Int(fold.holdoutFrequency)
            target.holdoutMonetaryValue?[i] = fold.holdoutMonetaryValue
        }
    }
}

/// The calibration and observation windows as days and period ordinals.
struct Windows {
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

