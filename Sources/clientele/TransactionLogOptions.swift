import ArgumentParser
import Transactions

/// The options that say how to read a transaction log, shared by every command that reads one.
struct TransactionLogOptions: ParsableArguments {
    @Option(help: "The customer id column: a header name, or a 1-based position.")
    var customerColumn = "customer_id"

    @Option(help: "The purchase date column: a header name, or a 1-based position.")
    var dateColumn = "date"

    @Option(help: "The amount column; without it the summary has no monetary value.")
    var amountColumn: String?

    @Option(help: "The field separator: , tab ; or whitespace (runs of blanks).")
    var delimiter = ","

    @Flag(help: "The file has no header line; name columns by 1-based position.")
    var noHeader = false

    @Option(help: "The date layout: \(DateFormat.choices). Detected when left out.")
    var dateFormat: String?

    @Option(help: "What to do with a bad row: fail (default) or skip and report them.")
    var onBadRow: String = "fail"

    func validate() throws {
        guard Delimiter(argument: delimiter) != nil else {
            throw ValidationError("--delimiter must be one of: , tab ; whitespace (got \"\(delimiter)\")")
        }
        if let dateFormat, DateFormat(rawValue: dateFormat) == nil {
            throw ValidationError("--date-format must be one of: \(DateFormat.choices) (got \"\(dateFormat)\")")
        }
        guard BadRowPolicy(rawValue: onBadRow) != nil else {
            throw ValidationError("--on-bad-row must be fail or skip (got \"\(onBadRow)\")")
        }
    }

    var format: TransactionLogFormat {
        TransactionLogFormat(
            delimiter: Delimiter(argument: delimiter) ?? .comma,
            hasHeader: !noHeader,
            customerColumn: ColumnReference(customerColumn),
            dateColumn: ColumnReference(dateColumn),
            amountColumn: amountColumn.map(ColumnReference.init),
            dateFormat: dateFormat.flatMap(DateFormat.init(rawValue:)))
    }

    var badRowPolicy: BadRowPolicy { BadRowPolicy(rawValue: onBadRow) ?? .fail }
}

/// The options that say how to summarise: periods, unit and windows.
struct SummaryWindowOptions: ParsableArguments {
    @Option(help: "Purchases in one period count once: day, week (Monday to Sunday) or month.")
    var period = "day"

    @Option(help: "The unit of recency, T and durations: days, weeks (days / 7) or months. Default: the period's own.")
    var unit: String?

    @Option(help: "The last day of the calibration window (yyyy-MM-dd); adds the holdout columns.")
    var calibrationEnd: String?

    @Option(help: "The last day observed (yyyy-MM-dd); later rows are left out. Default: the log's last day.")
    var observationEnd: String?

    func validate() throws {
        guard PeriodLength(rawValue: period) != nil else {
            throw ValidationError("--period must be day, week or month (got \"\(period)\")")
        }
        if let unit, TimeUnit(rawValue: unit) == nil {
            throw ValidationError("--unit must be days, weeks or months (got \"\(unit)\")")
        }
        if let length = PeriodLength(rawValue: period), let unit = unit.flatMap(TimeUnit.init(rawValue:)),
           let refusal = length.refusal(unit: unit) {
            throw ValidationError("--period \(period) with --unit \(unit.rawValue): \(refusal)")
        }
        for (flag, value) in [("--calibration-end", calibrationEnd), ("--observation-end", observationEnd)] {
            if let value, DateFormat.parseArgument(value) == nil {
                throw ValidationError("\(flag) must be a date such as 1997-09-30 (got \"\(value)\")")
            }
            if let value, let day = DateFormat.parseArgument(value), !CalendarDay.supportedRange.contains(day) {
                throw ValidationError("\(flag) must be within \(CalendarDay.supportedRange.lowerBound)…\(CalendarDay.supportedRange.upperBound), as a log's dates (got \"\(value)\")")
            }
        }
        if let length = PeriodLength(rawValue: period),
           let calibration = calibrationEnd.flatMap(DateFormat.parseArgument),
           let observation = observationEnd.flatMap(DateFormat.parseArgument),
           length.periods(after: calibration, through: observation) < 1 {
            throw ValidationError("--calibration-end must fall in an earlier \(period) than --observation-end (\(observation)), or the holdout window is empty (got \"\(calibration)\")")
        }
    }

    var options: SummaryOptions {
        SummaryOptions(
            period: PeriodLength(rawValue: period) ?? .day,
            unit: unit.flatMap(TimeUnit.init(rawValue:)),
            calibrationEnd: calibrationEnd.flatMap(DateFormat.parseArgument),
            observationEnd: observationEnd.flatMap(DateFormat.parseArgument))
    }
}
