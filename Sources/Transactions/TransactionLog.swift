/// One transaction: a customer (dense index; a `CustomerKeys` key while the file is read),
/// the day, the amount (0 without amounts).
struct TransactionRecord {
    var customer: Int32
    var day: Int32
    var amount: Double
}

/// A transaction log read into memory: one compact record per valid row.
public struct TransactionLog: Sendable {
    /// Every customer with at least one valid row, in order of first appearance.
    public internal(set) var customerIDs: CustomerIDs
    /// The records in file order, in the pieces the reader's threads produced them in
    /// (joining them would copy every record once more for nothing).
    var recordChunks: [[TransactionRecord]]
    /// Whether the log has an amount column.
    public internal(set) var hasAmounts: Bool
    /// The date layout used, given or detected.
    public internal(set) var dateFormat: DateFormat
    /// Valid rows read.
    public var transactionCount: Int { recordChunks.reduce(0) { $0 + $1.count } }
    /// Rows left out under `BadRowPolicy.skip`.
    public internal(set) var skippedCount: Int
    /// The first few rows left out, with the reason.
    public internal(set) var firstSkippedRows: [SkippedRow]
    public internal(set) var firstDay: CalendarDay
    public internal(set) var lastDay: CalendarDay
    /// Refund rows (negative amounts) that fell in a period with no purchase and so had no
    /// purchase to reduce; they are counted here rather than silently dropped.
    public internal(set) var unmatchedRefundCount: Int = 0

    /// How many skipped rows are kept for the report.
    public static let skippedRowsKept = 10

    /// The largest amount a row may hold, in magnitude: 10^15 (a quadrillion of any
    /// currency). A period's sum of 2^31 such amounts, and every mean and value made of them,
    /// stays finite; two amounts of 1e308 would add up to infinity.
    public static let largestAmount = 1e15
}
