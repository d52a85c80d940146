#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// What every purchase model predicts, for a customer with a history (frequency x,
/// recency tₓ, age T) or a new one.
///
/// Every model here factors its predictions as P(alive at T | x, tₓ, T) times what a customer
/// alive at T can expect, which depends on x and T only; batch scoring (`CustomerScores`)
/// evaluates the second factor once per distinct (x, T).
public protocol PurchasePredicting: Sendable {
    /// Expected purchases in (0, t] of a customer just acquired.
    func expectedPurchases(in t: Double) -> Double
    /// P(active at T).
    func pAlive(frequency: Double, recency: Double, T: Double) -> Double
    /// Expected purchases in the next t of a customer active at T.
    func expectedPurchasesIfAlive(in t: Double, frequency: Double, T: Double) -> Double
    /// P(still active at T + t | active at T).
    func survivalIfAlive(over t: Double, frequency: Double, T: Double) -> Double
    /// P(exactly n purchases in the next t).
    func probabilityOfPurchases(_ n: Int, in t: Double, frequency: Double, recency: Double, T: Double) -> Double
    /// For each (frequency[k], T[k]): the purchases still to come over the whole remaining
    /// lifetime of a customer active at T, each discounted continuously at `delta` per unit of
    /// time (DERT / P(alive)); NaN where δ is not positive or the series does not converge.
    func discountedResidualPurchasesIfAlive(continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double]
}

extension PurchasePredicting {
    /// Expected purchases in the next t.
    public func expectedPurchases(in t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        t > 0 ? expectedPurchasesIfAlive(in: t, frequency: x, T: T) * pAlive(frequency: x, recency: tx, T: T) : 0
    }

    /// P(active at T + t).
    public func pAlive(after t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        pAlive(frequency: x, recency: tx, T: T) * survivalIfAlive(over: t, frequency: x, T: T)
    }

    /// Discounted expected residual transactions: P(alive) times the purchases still to come,
    /// each discounted continuously at `delta` per unit of time (a rate d per month becomes
    /// ln(1+d) per month, ln(1+d)/4.345 per week; for BG/BB, ln(1+d) per opportunity).
    public func discountedExpectedResidualTransactions(continuousRate delta: Double, frequency x: Double, recency tx: Double,
                                                      T: Double) throws -> Double {
        guard delta > 0, delta.isFinite else { throw LifetimeValueError.invalidParameters("the discount rate must be positive (got \(delta))") }
        let residual = discountedResidualPurchasesIfAlive(continuousRate: delta, frequency: [x], T: [T])[0]
        guard residual.isFinite else {
            throw LifetimeValueError.invalidParameters("the discount rate \(delta) is too small for the series to converge")
        }
        return pAlive(frequency: x, recency: tx, T: T) * residual
    }
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
        spend.expectedSpend(frequency: x, monetaryValue: z) * purchases.pAlive(frequency: x, recency: tx, T: T)
            * Self.discountedPurchasesIfAlive(purchases, months: months, monthLength: monthLength, discountRate: discountRate,
                                              frequency: x, T: T)
    }

    /// Σᵢ₌₁..months (Aᵢ − Aᵢ₋₁)/(1 + d)ⁱ with Aᵢ the expected purchases by month i of a customer
    /// alive now: CLV divided by the expected spend and P(alive), which depends on x and T only.
    static func discountedPurchasesIfAlive(_ purchases: any PurchasePredicting, months: Int, monthLength: Double,
                                           discountRate: Double, frequency x: Double, T: Double) -> Double {
        var total = 0.0, previous = 0.0
        for month in 1...max(1, months) {
            let cumulative = purchases.expectedPurchasesIfAlive(in: Double(month) * monthLength, frequency: x, T: T)
            total += (cumulative - previous) / pow(1 + discountRate, Double(month))
            previous = cumulative
        }
        return total
    }
}

/// Every customer's expected purchases over a horizon, P(alive) now and at the horizon,
/// expected spend and CLV, computed together.
///
/// What a live customer can expect depends on (x, T) only, and customers share those pairs
/// (a cohort has a few hundred ages in days and few frequencies), so the costly part — the
/// hypergeometric series behind each horizon's expectation — runs once per distinct pair.
/// CLV factors the same way: CLV = spend · P(alive) · Σᵢ (Aᵢ − Aᵢ₋₁)/(1+d)ⁱ with Aᵢ the live
/// customer's expected purchases by month i, and so does DERT = P(alive) · DERT/P(alive).
/// Customers are scored on two threads, each writing its own half, so the result does not
/// depend on the cores.
public struct CustomerScores: Sendable {
    public var expectedPurchases: [Double]
    public var pAlive: [Double]
    public var pAliveAtHorizon: [Double]
    /// Empty without a spend model.
    public var expectedSpend: [Double]
    public var clv: [Double]
    /// Discounted expected residual transactions at `residualRate`; empty without one.
    public var dert: [Double]

    /// `residualRate`: the continuous discount rate per unit of time for DERT (none: no DERT).
    public init(purchases: any PurchasePredicting, spend: GammaGamma?, monthLength: Double, horizon: Double, months: Int,
                discountRate: Double, residualRate: Double? = nil, frequency: [Double], recency: [Double], T: [Double],
                monetaryValue: [Double]?) {
        let n = frequency.count
        var keys = DistinctKeys(capacity: min(n, 1 << 16))
        var pairX: [Double] = [], pairT: [Double] = []
        let pairOf = (0..<n).map { i -> Int32 in
            let (index, isNew) = keys.insert(SIMD4(frequency[i].bitPattern, T[i].bitPattern, 0, 0))
            if isNew {
                pairX.append(frequency[i])
                pairT.append(T[i])
            }
            return index
        }
        let valued = spend != nil && monetaryValue != nil
        // Per pair: expected purchases over the horizon, survival to it, and the discounted
        // sum of monthly increments, all for a customer alive now.
        let perPair = parallelMap(pairX.count) { k -> SIMD4<Double> in
            let x = pairX[k], age = pairT[k]
            let discounted = valued
                ? CustomerLifetimeValue.discountedPurchasesIfAlive(purchases, months: months, monthLength: monthLength,
                                                                   discountRate: discountRate, frequency: x, T: age)
                : 0
            return SIMD4(purchases.expectedPurchasesIfAlive(in: horizon, frequency: x, T: age),
                         purchases.survivalIfAlive(over: horizon, frequency: x, T: age), discounted, 0)
        }
        let residual = residualRate.map { purchases.discountedResidualPurchasesIfAlive(continuousRate: $0, frequency: pairX, T: pairT) } ?? []
        // Each customer's six scores are written straight into their columns, on two threads
        // that each fill their own half.
        var expected = [Double](repeating: 0, count: n), alive = [Double](repeating: 0, count: n)
        var later = [Double](repeating: 0, count: n)
        var spent = [Double](repeating: 0, count: valued ? n : 0), value = [Double](repeating: 0, count: valued ? n : 0)
        var discounted = [Double](repeating: 0, count: residual.isEmpty ? 0 : n)
        expected.withUnsafeMutableBufferPointer { expected in
            alive.withUnsafeMutableBufferPointer { alive in
                later.withUnsafeMutableBufferPointer { later in
                    spent.withUnsafeMutableBufferPointer { spent in
                        value.withUnsafeMutableBufferPointer { value in
                            discounted.withUnsafeMutableBufferPointer { discounted in
                                let columns = UncheckedBox((expected, alive, later, spent, value, discounted))
                                let shared = UncheckedBox((purchases, spend, monetaryValue, perPair, pairOf, residual))
                                let work: @Sendable (Int) -> Void = { half in
                                    let (expected, alive, later, spent, value, discounted) = columns.value
                                    let (purchases, spend, monetaryValue, perPair, pairOf, residual) = shared.value
                                    for i in (n * half / 2)..<(n * (half + 1) / 2) {
                                        let p = purchases.pAlive(frequency: frequency[i], recency: recency[i], T: T[i])
                                        let pair = perPair[Int(pairOf[i])]
                                        expected[i] = p * pair[0]
                                        alive[i] = p
                                        later[i] = p * pair[1]
                                        if valued, let spend, let monetaryValue {
                                            let m = spend.expectedSpend(frequency: frequency[i], monetaryValue: monetaryValue[i])
                                            spent[i] = m
                                            value[i] = m * p * pair[2]
                                        }
                                        if !residual.isEmpty { discounted[i] = p * residual[Int(pairOf[i])] }
                                    }
                                }
                                if n >= 4096 { DispatchQueue.concurrentPerform(iterations: 2, execute: work) } else { work(0); work(1) }
                            }
                        }
                    }
                }
            }
        }
        expectedPurchases = expected
        pAlive = alive
        pAliveAtHorizon = later
        expectedSpend = spent
        clv = value
        dert = discounted
    }
}
