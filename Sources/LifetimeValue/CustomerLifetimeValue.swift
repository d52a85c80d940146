#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every purchase model predicts, for a customer with a history (frequency x,
/// recency tₓ, age T) or a new one.
public protocol PurchasePredicting: Sendable {
    /// Expected purchases in (0, t] of a customer just acquired.
    func expectedPurchases(in t: Double) -> Double
    /// Expected purchases in the next t.
    func expectedPurchases(in t: Double, frequency: Double, recency: Double, T: Double) -> Double
    /// P(active at T).
    func pAlive(frequency: Double, recency: Double, T: Double) -> Double
    /// P(active at T + t).
    func pAlive(after t: Double, frequency: Double, recency: Double, T: Double) -> Double
    /// P(exactly n purchases in the next t).
    func probabilityOfPurchases(_ n: Int, in t: Double, frequency: Double, recency: Double, T: Double) -> Double
}

extension BGNBD: PurchasePredicting {}
extension ParetoNBD: PurchasePredicting {}

extension PurchasePredicting {
    /// The expected cumulative repeat purchases of a whole cohort at each of `times`, counted
    /// from the first acquisition (the tracking chart of the BG/NBD paper): a customer of age
    /// T at the end of calibration was acquired at max T − T, and contributes the new-customer
    /// expectation of the time since.
    public func cohortCumulativePurchases(at times: [Double], ages T: [Double]) -> [Double] {
        guard let oldest = T.max() else { return times.map { _ in 0 } }
        var acquired: [Double: Double] = [:]
        for age in T { acquired[oldest - age, default: 0] += 1 }
        let cohorts = acquired.sorted { $0.key < $1.key }
        return times.map { time in
            cohorts.reduce(0.0) { sum, cohort in
                time > cohort.key ? sum + cohort.value * expectedPurchases(in: time - cohort.key) : sum
            }
        }
    }
}

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
