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

        let folds = CustomerFolds(count: log.customerIDs.count)
        let closed = foldInFileOrder(log.recordChunks, into: folds, windows) ?? foldGrouped(log.recordChunks, into: folds, windows)
        unmatchedRefunds += closed.unmatchedRefunds
        let kept = closed.kept
        guard !kept.isEmpty else {
            let end = options.calibrationEnd ?? observationEnd
            throw TransactionsError.invalidOptions(
                "no customer made a first purchase by \(end); the log runs from \(log.firstDay) to \(log.lastDay)")
        }

        // The ids on one thread, the numbers on the other, each in one pass in customer order.
        // When every customer is kept, the log's ids are shared, not copied.
        var customerIDs = log.customerIDs
        var columns = SummaryColumns()
        let selectsIDs = kept.count < log.customerIDs.count
        if kept.count >= 4096 {
            parallelFor(2) { t in
                if t == 0 {
                    columns = SummaryColumns(kept, folds, windows, scale, hasAmounts: log.hasAmounts)
                } else if selectsIDs {
                    customerIDs = log.customerIDs.selecting(kept)
                }
            }
        } else {
            columns = SummaryColumns(kept, folds, windows, scale, hasAmounts: log.hasAmounts)
            if selectsIDs { customerIDs = log.customerIDs.selecting(kept) }
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

/// The numeric columns of the kept customers, gathered from their folds in one pass.
private struct SummaryColumns {
    var frequency: [Int] = [], holdoutFrequency: [Int] = []
    var recency: [Double] = [], T: [Double] = [], monetaryValue: [Double] = [], holdoutMonetaryValue: [Double] = []

    init() {}

    init(_ kept: [Int32], _ folds: CustomerFolds, _ windows: Windows, _ scale: PeriodScale, hasAmounts: Bool) {
        frequency.reserveCapacity(kept.count)
        recency.reserveCapacity(kept.count)
        T.reserveCapacity(kept.count)
        if hasAmounts { monetaryValue.reserveCapacity(kept.count) }
        if windows.split {
            holdoutFrequency.reserveCapacity(kept.count)
            if hasAmounts { holdoutMonetaryValue.reserveCapacity(kept.count) }
        }
        let calibrationT = windows.calibrationEndPeriod
        for (i, c) in kept.enumerated() {
            if i & 0xFFFF == 0xFFFF { folds.release(below: Int(c)) }
            let fold = folds[Int(c)]
            frequency.append(Int(fold.frequency))
            recency.append(scale.duration(fold.lastPeriod - fold.firstPeriod))
            T.append(scale.duration(calibrationT - fold.firstPeriod))
            if hasAmounts { monetaryValue.append(fold.monetaryValue) }
            if windows.split {
                holdoutFrequency.append(Int(fold.holdoutFrequency))
                if hasAmounts { holdoutMonetaryValue.append(fold.holdoutMonetaryValue) }
            }
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

