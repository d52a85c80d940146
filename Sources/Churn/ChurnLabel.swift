import Transactions

/// When a customer counts as churned, read from the holdout window of a calibration/holdout
/// summary:
///
/// - `purchasesBelow(n)`: fewer than n purchase periods in the holdout (n = 1, the default:
///   no purchase at all, `frequency_holdout == 0`);
/// - `spendBelow(s)`: holdout spend below s, taken as `frequency_holdout ×
///   monetary_value_holdout` — purchase periods times the mean holdout transaction, which is
///   the holdout spend exactly when each purchase period holds one transaction (the summary
///   cannot tell more apart).
public enum ChurnLabel: Sendable, Equatable, Codable, CustomStringConvertible {
    case purchasesBelow(Int)
    case spendBelow(Double)

    public static let noHoldoutPurchase = ChurnLabel.purchasesBelow(1)

    /// Whether `s` can be a spend threshold: a finite amount above 0 (below 0 no customer
    /// churns). The command line and the job file both hold it to this.
    public static func acceptsSpendThreshold(_ s: Double) -> Bool { s > 0 && s.isFinite }

    /// 1 for churned, 0 for retained, per customer.
    public func labels(_ summary: CustomerSummary, source: String) throws -> [Double] {
        guard let holdout = summary.holdout else {
            throw ChurnError.invalidInput("\(source) has no holdout columns (frequency_holdout): churn labels come from a holdout window; summarize with --calibration-end")
        }
        switch self {
        case .purchasesBelow(let n):
            return holdout.frequency.map { $0 < n ? 1 : 0 }
        case .spendBelow(let s):
            guard let spend = holdout.monetaryValue else {
                throw ChurnError.invalidInput("\(source) has no monetary_value_holdout column, which a spend threshold needs")
            }
            return zip(holdout.frequency, spend).map { Double($0) * $1 < s ? 1 : 0 }
        }
    }

    public var description: String {
        switch self {
        case .purchasesBelow(1): return "no purchase in the holdout window"
        case .purchasesBelow(let n): return "fewer than \(n) purchase periods in the holdout window"
        case .spendBelow(let s): return "holdout spend below \(s)"
        }
    }

    private enum CodingKeys: String, CodingKey { case holdoutPurchasesBelow, holdoutSpendBelow }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let n = try container.decodeIfPresent(Int.self, forKey: .holdoutPurchasesBelow) {
            self = .purchasesBelow(n)
        } else {
            self = .spendBelow(try container.decode(Double.self, forKey: .holdoutSpendBelow))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .purchasesBelow(let n): try container.encode(n, forKey: .holdoutPurchasesBelow)
        case .spendBelow(let s): try container.encode(s, forKey: .holdoutSpendBelow)
        }
    }
}
