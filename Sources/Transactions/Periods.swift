/// The length of a purchase period: all purchases of a customer in one period count as one,
/// as lifetimes' `freq` does.
public enum PeriodLength: String, CaseIterable, Sendable, Codable {
    case day, week, month

    /// The period a day falls in, as an ordinal that grows by one per period.
    ///
    /// Weeks run Monday to Sunday, like pandas' `W` (`W-SUN`, weeks ending on Sunday);
    /// 1970-01-01 was a Thursday, so shifting by three days puts each Monday at a multiple of 7.
    @inline(__always)
    func ordinal(_ day: Int32) -> Int32 {
        switch self {
        case .day:
            return day
        case .week:
            let shifted = day + 3
            return shifted >= 0 ? shifted / 7 : (shifted - 6) / 7
        case .month:
            let (year, month, _) = CalendarDay.civilFromDays(Int(day))
            return Int32(year * 12 + month - 1)
        }
    }

    /// How many period boundaries lie after `start` up to `end`: the length of a holdout
    /// window from a calibration end to an observation end, in periods (0 when both days
    /// fall in one period).
    public func periods(after start: CalendarDay, through end: CalendarDay) -> Int {
        Int(ordinal(Int32(end.daysSinceEpoch)) - ordinal(Int32(start.daysSinceEpoch)))
    }

    /// The unit a summary measures time in when none is asked for: the period's own.
    public var naturalUnit: TimeUnit {
        switch self {
        case .day: return .days
        case .week: return .weeks
        case .month: return .months
        }
    }
}

/// The unit of recency, T and the holdout duration in a summary.
public enum TimeUnit: String, CaseIterable, Sendable, Codable {
    case days, weeks, months

    /// The longest horizon a forecast takes: ten years in this unit. CLV sums a horizon's
    /// months one by one for every customer, so a horizon of centuries would run for hours.
    public var tenYears: Double {
        switch self {
        case .days: 3653
        case .weeks: 522
        case .months: 120
        }
    }
}

extension PeriodLength {
    /// Why durations of these periods cannot be measured in `unit` (monthly periods in days,
    /// weeks in months), or nil when they can: for a command to refuse the pair before it
    /// reads a log.
    public func refusal(unit: TimeUnit) -> String? {
        do {
            _ = try PeriodScale(period: self, unit: unit)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// How a number of periods becomes a duration in the chosen unit:
/// `periods * multiplier / divisor`. Division by 7 (not multiplication by 1/7) gives the
/// same doubles as lifetimes' `freq_multiplier`.
struct PeriodScale {
    var multiplier: Double
    var divisor: Double

    init(period: PeriodLength, unit: TimeUnit) throws {
        switch (period, unit) {
        case (.day, .days), (.week, .weeks), (.month, .months):
            (multiplier, divisor) = (1, 1)
        case (.day, .weeks):
            (multiplier, divisor) = (1, 7)
        case (.week, .days):
            (multiplier, divisor) = (7, 1)
        case (.month, _):
            throw TransactionsError.invalidOptions(
                "monthly periods are measured in months: a month has no fixed length in \(unit.rawValue); use the unit months")
        case (_, .months):
            throw TransactionsError.invalidOptions(
                "the unit months needs monthly periods: a \(period.rawValue) is not a fixed fraction of a month")
        }
    }

    @inline(__always)
    func duration(_ periods: Int32) -> Double {
        Double(periods) * multiplier / divisor
    }
}
