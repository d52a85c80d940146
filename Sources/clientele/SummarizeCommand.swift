import ArgumentParser
import Transactions

struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Turn a transaction log into one summary row per customer.",
        discussion: """
            Columns: customer_id, frequency (repeat purchase periods), recency (first to last \
            purchase), T (first purchase to the end of observation), monetary_value (mean value \
            of the repeat periods), and after --calibration-end the holdout columns \
            frequency_holdout, monetary_value_holdout, duration_holdout — the meaning of \
            lifetimes' summary_data_from_transaction_data and calibration_and_holdout_data.

            Example (the CDNOW master log, weeks, 39-week calibration):
              clientele summarize datasets/cdnow/CDNOW_master.txt --delimiter whitespace \\
                --amount-column dollar_value --date-format yyyyMMdd --unit weeks \\
                --calibration-end 1997-09-30 --observation-end 1998-06-30 --output summary.csv
            """)

    @Argument(help: "The transaction log (CSV or other delimited text).")
    var transactions: String

    @OptionGroup var log: TransactionLogOptions
    @OptionGroup var windows: SummaryWindowOptions

    @Option(help: "Where to write the summary CSV (written whole or not at all).")
    var output: String

    func run() throws {
        try Report.begin(outputs: ["--output": output], inputs: [transactions])
        var progress = ProgressLine("reading \(transactions)")
        let transactionLog = try TransactionLogReader.read(
            path: transactions, format: log.format, onBadRow: log.badRowPolicy,
            progress: { progress.update($0, of: $1) })
        progress.finish()
        let (summary, unmatchedRefunds) = try CustomerSummary.summarize(transactionLog, options: windows.options)
        try summary.writeCSV(to: output)
        if transactionLog.skippedCount > 0 {
            writeStandardError("skipped \(transactionLog.skippedCount) bad rows; the first \(transactionLog.firstSkippedRows.count):\n")
            for row in transactionLog.firstSkippedRows { writeStandardError("  \(row)\n") }
        }
        if unmatchedRefunds > 0 {
            writeStandardError(CustomerSummary.unmatchedRefundsNote(unmatchedRefunds) + "\n")
        }
        reportLine("\(summary.count) customers from \(transactionLog.transactionCount) transactions (\(transactionLog.firstDay)…\(transactionLog.lastDay), dates \(transactionLog.dateFormat.rawValue)) → \(output)")
    }
}
