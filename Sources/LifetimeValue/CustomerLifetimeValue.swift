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
    /// P(exactly 0, …, n − 1 purchases in the next t), in one pass where the counts share their
    /// work (O(n), not O(n²)): equal to `probabilityOfPurchases` count by count to 1e-10, or
    /// 1e-13 absolute for small probabilities (the models' recurrences against its log-gammas).
    func probabilitiesOfPurchases(below n: Int, in t: Double, frequency: Double, recency: Double, T: Double) -> [Double]
    /// For each (frequency[k], T[k]): the purchases still to come over the whole remaining
    /// lifetime of a customer active at T, each discounted continuously at `delta` per unit of
    /// time (DERT / P(alive)); NaN where δ is not positive or the series does not converge.
    func discountedResidualPurchasesIfAlive(continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double]
}

extension PurchasePredicting {
    public func probabilitiesOfPurchases(below n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> [Double] {
        (0..<max(0, n)).map { probabilityOfPurchases($0, in: t, frequency: x, recency: tx, T: T) }
    }

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
/// Customers share their histories (x, tₓ, T) — every one-time buyer of a cohort day has the
/// same — so every score but the spend is computed once per distinct history and handed to
/// its customers. What a live customer can expect depends on (x, T) only, and the histories
/// share those pairs in turn (a cohort has a few hundred ages in days and few frequencies), so
/// the costly part — the hypergeometric series behind each horizon's expectation — runs once
/// per distinct pair. CLV factors the same way: CLV = spend · P(alive) · Σᵢ (Aᵢ − Aᵢ₋₁)/(1+d)ⁱ
/// with Aᵢ the live customer's expected purchases by month i, and so does
/// DERT = P(alive) · DERT/P(alive). Customers are scored on two threads, each writing its own
/// half, and every customer's numbers are the same products in the same order as when taken
/// one customer at a time, so the result depends neither on the cores nor on the grouping.
public struct CustomerScores: Sendable {
    public var expectedPurchases: [Double]
    public var pAlive: [Double]
    /// Empty when not asked for (`survivalToHorizon` false).
    public var pAliveAtHorizon: [Double]
    /// Empty without a spend model.
    public var expectedSpend: [Double]
    public var clv: [Double]
    /// Discounted expected residual transactions at `residualRate`; empty without one.
    public var dert: [Double]

    /// The scores of customers given column by column.
    /// `residualRate`: the continuous discount rate per unit of time for DERT (none: no DERT).
    /// `survivalToHorizon`: whether to give P(alive) at the horizon, a series of its own per
    /// (x, T) that costs more than the rest of the scores together.
    public init(purchases: any PurchasePredicting, spend: GammaGamma?, monthLength: Double, horizon: Double, months: Int,
                discountRate: Double, residualRate: Double? = nil, survivalToHorizon: Bool = true, frequency: [Double],
                recency: [Double], T: [Double], monetaryValue: [Double]?) {
        self.init(purchases: purchases, spend: spend, monthLength: monthLength, horizon: horizon, months: months,
                  discountRate: discountRate, residualRate: residualRate, survivalToHorizon: survivalToHorizon,
                  rows: HistoryRows(frequency: frequency, recency: recency, T: T), monetaryValue: monetaryValue)
    }

    /// The scores of the customers of `histories`, in their order (`customerRows`), from
    /// distinct rows already grouped, as for the model's fit; `monetaryValue`, when given, has
    /// one value per customer.
    public init(purchases: any PurchasePredicting, spend: GammaGamma?, monthLength: Double, horizon: Double, months: Int,
                discountRate: Double, residualRate: Double? = nil, survivalToHorizon: Bool = true, histories: PurchaseHistories,
                monetaryValue: [Double]?) {
        precondition(monetaryValue.map { $0.count == histories.customerRows.count } ?? true, "one monetary value per customer")
        self.init(purchases: purchases, spend: spend, monthLength: monthLength, horizon: horizon, months: months,
                  discountRate: discountRate, residualRate: residualRate, survivalToHorizon: survivalToHorizon,
                  rows: HistoryRows(frequency: histories.frequency, recency: histories.recency, T: histories.T,
                                    customerRows: histories.customerRows),
                  monetaryValue: monetaryValue)
    }

    private init(purchases: any PurchasePredicting, spend: GammaGamma?, monthLength: Double, horizon: Double, months: Int,
                 discountRate: Double, residualRate: Double?, survivalToHorizon: Bool, rows: HistoryRows, monetaryValue: [Double]?) {
        let n = rows.customerRows.count, distinct = rows.frequency.count
        var keys = DistinctKeys(capacity: min(distinct, 1 << 16))
        var pairX: [Double] = [], pairT: [Double] = []
        let pairOfRow = (0..<distinct).map { r -> Int32 in
            let (index, isNew) = keys.insert(SIMD4(rows.frequency[r].bitPattern, rows.T[r].bitPattern, 0, 0))
            if isNew {
                pairX.append(rows.frequency[r])
                pairT.append(rows.T[r])
            }
            return index
        }
        let valued = spend != nil && monetaryValue != nil
        // Per pair: expected purchases over the horizon, survival to it, and the discounted
        // sum of monthly increments, all for a customer alive now. A pair takes microseconds
        // (a series per month), so even a few thousand are worth both cores.
        let perPair = parallelMap(pairX.count, serialBelow: 64) { k -> SIMD4<Double> in
            let x = pairX[k], age = pairT[k]
            let discounted = valued
                ? CustomerLifetimeValue.discountedPurchasesIfAlive(purchases, months: months, monthLength: monthLength,
                                                                   discountRate: discountRate, frequency: x, T: age)
                : 0
            return SIMD4(purchases.expectedPurchasesIfAlive(in: horizon, frequency: x, T: age),
                         survivalToHorizon ? purchases.survivalIfAlive(over: horizon, frequency: x, T: age) : 0, discounted, 0)
        }
        let residual = residualRate.map { purchases.discountedResidualPurchasesIfAlive(continuousRate: $0, frequency: pairX, T: pairT) } ?? []
        // Per row: its P(alive) p and what its customers read — p · expected purchases,
        // p · survival, the discounted sum (CLV multiplies it into spend · p), p · DERT/P(alive)
        // and the frequency the spend needs.
        let perRow = parallelMap(distinct) { r -> RowScores in
            let p = purchases.pAlive(frequency: rows.frequency[r], recency: rows.recency[r], T: rows.T[r])
            let pair = perPair[Int(pairOfRow[r])]
            return RowScores(pAlive: p, expected: p * pair[0], later: p * pair[1], discounted: pair[2],
                             residual: residual.isEmpty ? 0 : p * residual[Int(pairOfRow[r])], frequency: rows.frequency[r])
        }
        // Each customer's six scores are written straight into their columns, on two threads
        // that each fill their own half.
        var expected = [Double](repeating: 0, count: n), alive = [Double](repeating: 0, count: n)
        var later = [Double](repeating: 0, count: survivalToHorizon ? n : 0)
        var spent = [Double](repeating: 0, count: valued ? n : 0), value = [Double](repeating: 0, count: valued ? n : 0)
        var discounted = [Double](repeating: 0, count: residual.isEmpty ? 0 : n)
        expected.withUnsafeMutableBufferPointer { expected in
            alive.withUnsafeMutableBufferPointer { alive in
                later.withUnsafeMutableBufferPointer { later in
                    spent.withUnsafeMutableBufferPointer { spent in
                        value.withUnsafeMutableBufferPointer { value in
                            discounted.withUnsafeMutableBufferPointer { discounted in
                                let columns = UncheckedBox((expected, alive, later, spent, value, discounted))
                                let shared = UncheckedBox((spend, monetaryValue, perRow, rows.customerRows, !residual.isEmpty))
                                let work: @Sendable (Int) -> Void = { half in
                                    let (expected, alive, later, spent, value, discounted) = columns.value
                                    let (spend, monetaryValue, perRow, customerRows, withResidual) = shared.value
                                    for i in (n * half / 2)..<(n * (half + 1) / 2) {
                                        let row = perRow[Int(customerRows[i])]
                                        expected[i] = row.expected
                                        alive[i] = row.pAlive
                                        if survivalToHorizon { later[i] = row.later }
                                        if valued, let spend, let monetaryValue {
                                            let m = spend.expectedSpend(frequency: row.frequency, monetaryValue: monetaryValue[i])
                                            spent[i] = m
                                            value[i] = m * row.pAlive * row.discounted
                                        }
                                        if withResidual { discounted[i] = row.residual }
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

    private struct RowScores {
        var pAlive, expected, later, discounted, residual, frequency: Double
    }
}

/// Distinct purchase histories (x, tₓ, T) and the row of each customer, grouped by bit
/// pattern without checking them (scores of any values are the caller's to judge).
struct HistoryRows {
    var frequency: [Double] = [], recency: [Double] = [], T: [Double] = []
    var customerRows: [Int32]

    init(frequency: [Double], recency: [Double], T: [Double], customerRows: [Int32]) {
        (self.frequency, self.recency, self.T, self.customerRows) = (frequency, recency, T, customerRows)
    }

    init(frequency x: [Double], recency tx: [Double], T age: [Double]) {
        precondition(x.count == tx.count && tx.count == age.count, "one frequency, recency and T per customer")
        var keys = DistinctKeys(capacity: min(x.count, 1 << 16))
        customerRows = []
        customerRows.reserveCapacity(x.count)
        for i in x.indices {
            let (row, isNew) = keys.insert(SIMD4(x[i].bitPattern, tx[i].bitPattern, age[i].bitPattern, 0))
            if isNew {
                frequency.append(x[i])
                recency.append(tx[i])
                T.append(age[i])
            }
            customerRows.append(row)
        }
    }
}
