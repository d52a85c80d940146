import Churn
import Clustering
import Transactions

/// A job as design.md's "Job file" describes it, after validation: every default filled in
/// and every path absolute, so that `jsonValue` (written to the result's `job.json`) says
/// exactly what ran and runs the same again from anywhere.
public struct Job: Sendable, Equatable {
    public var name: String
    public var transactions: TransactionSource
    public var period: PeriodSettings
    public var models: ModelSettings
    public var segmentation: SegmentationSettings
    /// Where the result is exported; nil: no export.
    public var crm: CRMSettings?
}

/// The transaction log and how to read it.
public struct TransactionSource: Sendable, Equatable {
    /// Absolute.
    public var path: String
    public var delimiter: Delimiter
    public var header: Bool
    public var customer: String
    public var date: String
    /// nil: the log has no amounts, so there is no spend model, CLV or monetary value.
    public var amount: String?
    /// nil until the log is read: detected from its first rows.
    public var dateFormat: DateFormat?
    public var onBadRow: BadRowPolicy

    public var format: TransactionLogFormat {
        TransactionLogFormat(delimiter: delimiter, hasHeader: header, customerColumn: ColumnReference(customer),
                             dateColumn: ColumnReference(date), amountColumn: amount.map(ColumnReference.init),
                             dateFormat: dateFormat)
    }
}

/// Purchase periods, the unit of durations and the windows.
public struct PeriodSettings: Sendable, Equatable {
    public var periodLength: PeriodLength
    public var unit: TimeUnit
    /// nil: no holdout window (no churn model, no calibration chart).
    public var calibrationEnd: CalendarDay?
    /// nil until the log is read: its last day.
    public var observationEnd: CalendarDay?
}

public enum PurchaseModelKind: String, Sendable, CaseIterable {
    case bgnbd
    case paretoNBD = "pareto-nbd"
    case mbgnbd
}

public enum SpendModelKind: String, Sendable, CaseIterable {
    case gammaGamma = "gamma-gamma"
    case none
}

public enum ChurnModelKind: String, Sendable, CaseIterable {
    case logistic
    case none
}

/// The models and what they predict.
public struct ModelSettings: Sendable, Equatable {
    public var purchase: PurchaseModelKind
    public var spend: SpendModelKind
    public var churn: ChurnModelKind
    public var churnDefinition: ChurnLabel
    /// The L2 penalty on the churn model's standardised coefficients.
    public var churnPenalty: Double
    /// Cross-validation folds of the churn model (0: none, and no lift chart).
    public var churnFolds: Int
    public var churnSeed: UInt64
    /// How far ahead expected purchases and CLV look, in `period.unit`.
    public var horizon: Double
    /// Per month, as lifetimes' `customer_lifetime_value`.
    public var discountRate: Double
}

public enum SegmentationMethod: String, Sendable, CaseIterable {
    case kmeans
    case rfm
}

public enum SegmentCount: Sendable, Equatable {
    case fixed(Int)
    case automatic
}

/// How customers become segments.
public struct SegmentationSettings: Sendable, Equatable {
    public var method: SegmentationMethod
    /// k-means only.
    public var k: SegmentCount
    /// k-means with automatic k only: the k tried.
    public var kRange: ClosedRange<Int>
    public var seed: UInt64
    public var nInit: Int
    /// The columns k-means clusters on and every profile describes.
    public var features: [String]
    /// k-means only: each feature's transforms, in `features` order.
    public var transforms: [[Clustering.FeatureTransform]]

    /// Every per-customer column a segmentation may use.
    public static let availableFeatures = ["frequency", "recency", "T", "monetary_value", "expected_purchases",
                                           "p_alive", "churn_probability", "clv"]
}

/// The CRM database a finished result is loaded into.
public struct CRMSettings: Sendable, Equatable {
    /// `sqlite:PATH` (PATH absolute) or `postgres://USER@HOST[:PORT]/DATABASE`.
    public var database: String

    public init(database: String) {
        self.database = database
    }
}

extension Job {
    /// The job with every default filled in, in the order of the job file reference.
    public var jsonValue: JSONValue {
        var transactionMembers: [(key: String, value: JSONValue)] = [
            ("path", .string(transactions.path)), ("delimiter", .string(transactions.delimiter.rawValue)),
            ("header", .bool(transactions.header)), ("customer", .string(transactions.customer)),
            ("date", .string(transactions.date)), ("amount", transactions.amount.map(JSONValue.string) ?? .null),
        ]
        transactionMembers.append(("dateFormat", transactions.dateFormat.map { .string($0.rawValue) } ?? .null))
        transactionMembers.append(("onBadRow", .string(transactions.onBadRow.rawValue)))
        let churnDefinition: JSONValue
        switch models.churnDefinition {
        case .purchasesBelow(let n): churnDefinition = .object([("holdoutPurchasesBelow", .integer(n))])
        case .spendBelow(let s): churnDefinition = .object([("holdoutSpendBelow", .number(s))])
        }
        var segmentationMembers: [(key: String, value: JSONValue)] = [("method", .string(segmentation.method.rawValue))]
        if segmentation.method == .kmeans {
            switch segmentation.k {
            case .fixed(let k): segmentationMembers.append(("k", .integer(k)))
            case .automatic:
                segmentationMembers.append(("k", .string("auto")))
                // Only where it is used: with a fixed k a range would be a setting that did nothing.
                segmentationMembers.append(("kRange", .array([.integer(segmentation.kRange.lowerBound), .integer(segmentation.kRange.upperBound)])))
            }
            segmentationMembers.append(("seed", .integer(Int(segmentation.seed))))
            segmentationMembers.append(("nInit", .integer(segmentation.nInit)))
        }
        segmentationMembers.append(("features", .array(segmentation.features.map(JSONValue.string))))
        if segmentation.method == .kmeans {
            segmentationMembers.append(("transforms", .object(zip(segmentation.features, segmentation.transforms).map {
                ($0, .array($1.map { .string($0.description) }))
            })))
        }
        return .object([
            ("name", .string(name)),
            ("transactions", .object(transactionMembers)),
            ("period", .object([
                ("periodLength", .string(period.periodLength.rawValue)), ("unit", .string(period.unit.rawValue)),
                ("calibrationEnd", period.calibrationEnd.map { .string($0.description) } ?? .null),
                ("observationEnd", period.observationEnd.map { .string($0.description) } ?? .null),
            ])),
            ("models", .object([
                ("purchase", .string(models.purchase.rawValue)), ("spend", .string(models.spend.rawValue)),
                ("churn", .string(models.churn.rawValue)), ("churnDefinition", churnDefinition),
                ("churnPenalty", .number(models.churnPenalty)), ("churnFolds", .integer(models.churnFolds)),
                ("churnSeed", .integer(Int(models.churnSeed))),
                ("horizon", .number(models.horizon)), ("discountRate", .number(models.discountRate)),
            ])),
            ("segmentation", .object(segmentationMembers)),
            ("crm", crm.map { .object([("database", .string($0.database))]) } ?? .null),
        ])
    }
}
