#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A purchase model that predicts a customer's expected purchases over a horizon.
public protocol PurchasePredicting: Sendable {
    func expectedPurchases(in t: Double, frequency: Double, recency: Double, T: Double) -> Double
    func pAlive(frequency: Double, recency: Double, T: Double) -> Double
}

extension BGNBD: PurchasePredicting {}

/// Discounted customer lifetime value with the meaning of lifetimes'
/// `customer_lifetime_value`: over `months` monthly steps, the expected spend per transaction
/// times the expected purchases in each month, discounted by (1 + rate) per month,
///
///     CLV = Σᵢ₌₁..months  m · (E[purchases in (0, i·f]] − E[purchases in (0, (i−1)·f]]) / (1 + d)ⁱ
///
/// where f is the length of a month in the data's unit (30 days, 4.345 weeks, 1 month, as
/// lifetimes takes them).
public struct CustomerLifetimeValue: Sendable {
    public var purchases: any PurchasePredicting
    public var spend: GammaGamma
    /// The length of a month in the unit of the purchase histories.
    public var monthLength: Double

    public init(purchases: any PurchasePredicting, spend: GammaGamma, monthLength: Double) {
        self.purchases = purchases
        self.spend = spend
        self.monthLength = monthLength
    }

    /// A month in days, weeks or months, as lifetimes' `freq` "D", "W", "M".
    public static func monthLength(unit: String) -> Double? {
        ["days": 30, "weeks": 4.345, "months": 1][unit]
    }

    public func value(months: Int, discountRate: Double, frequency x: Double, recency tx: Double, T: Double,
                      monetaryValue z: Double) -> Double {
        let m = spend.expectedSpend(frequency: x, monetaryValue: z)
        var total = 0.0
        var previous = 0.0
        for i in 1...max(1, months) {
            let cumulative = purchases.expectedPurchases(in: Double(i) * monthLength, frequency: x, recency: tx, T: T)
            total += m * (cumulative - previous) / pow(1 + discountRate, Double(i))
            previous = cumulative
        }
        return total
    }
}
