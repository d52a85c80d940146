#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The beta-geometric/beta-binomial (BG/BB) model of Fader, Hardie & Shang (2010),
/// "Customer-base analysis in a discrete-time noncontractual setting", Marketing Science 29(6).
///
/// Transactions can happen only at discrete opportunities (a yearly gift, an annual event).
/// While alive, a customer transacts at each opportunity with probability p ~ Beta(α, β), and
/// dies before the next opportunity with probability θ ~ Beta(γ, δ). For x transactions in
/// n opportunities, the last at opportunity tₓ (the paper's eq. 5),
///
///     L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
///         + Σᵢ₌₀^(n−tₓ−1) B(α+x, β+tₓ−x+i)/B(α,β) · B(γ+1, δ+tₓ+i)/B(γ,δ):
///
/// alive through all n opportunities, or dead after opportunity tₓ+i. Here recency is tₓ and
/// T is n, both counted in opportunities.
///
/// Hazards and guards: every term is a ratio of beta functions taken in logs and the terms
/// are added by log-sum-exp, so nothing overflows whatever n and x; the gradient is the
/// terms' digamma gradients weighted by their shares. lifetimes' fit stops at NaN on some
/// data (lifetimes#259) because it exponentiates each term. Predictions over m future
/// opportunities are finite sums of the same terms, so no γ = 1 singularity appears (the
/// closed forms divide by γ − 1).
///
/// Discounted expected residual transactions (the paper's eq. 14): with discount rate d per
/// opportunity and the first future opportunity discounted once,
///
///     DERT = Σₖ≥₁ E[transaction at opportunity n+k | history] / (1+d)ᵏ
///          = B(α+x+1, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / (1+d) · ₂F₁(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L,
///
/// which is P(alive) · (α+x)/(α+β+n) · (δ+n)/(γ+δ+n) · z ₂F₁(1, δ+n+1; γ+δ+n+1; z), z = 1/(1+d):
/// E[(1−θ)ᵏ | alive at n] = B(γ, δ+n+k)/B(γ, δ+n) summed over k. The series has positive terms,
/// each at most z times the one before, and is summed in logs by `Special.hypergeometricUnitA`.
public struct BGBB: Sendable, Equatable {
    public var alpha: Double
    public var beta: Double
    public var gamma: Double
    public var delta: Double

    public static let parameterNames = ["alpha", "beta", "gamma", "delta"]

    public init(alpha: Double, beta: Double, gamma: Double, delta: Double) throws {
        guard [alpha, beta, gamma, delta].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("BG/BB needs positive alpha, beta, gamma, delta (got \(alpha), \(beta), \(gamma), \(delta))")
        }
        (self.alpha, self.beta, self.gamma, self.delta) = (alpha, beta, gamma, delta)
    }

    public var parameters: [Double] { [alpha, beta, gamma, delta] }

    /// Fits on histories in opportunities (frequency x ≤ recency tₓ ≤ T = n, all whole).
    public static func fit(_ data: PurchaseHistories, penalty: Double = 0) throws -> (model: BGBB, fit: FitResult) {
        try validate(data)
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        let result = try optimiser.fit(Likelihood(data: data), start: [1, 1, 1, 1])
        let p = result.parameters
        return (try BGBB(alpha: p[0], beta: p[1], gamma: p[2], delta: p[3]), result)
    }

    /// The most opportunities a history may count: the likelihood and the predictions sum a
    /// term per opportunity, and 10⁹ of them kept `fit` and `predict` busy for minutes (ten
    /// years of daily opportunities are 3,653).
    public static let mostPeriods = 10_000.0

    static func validate(_ data: PurchaseHistories) throws {
        for i in 0..<data.distinctCount {
            let (x, tx, n) = (data.frequency[i], data.recency[i], data.T[i])
            guard tx.rounded() == tx, n.rounded() == n, x <= tx || (x == 0 && tx == 0), tx <= n else {
                throw LifetimeValueError.invalidData(
                    "frequency \(x), recency \(tx), periods \(n) is not a discrete history (need whole numbers with frequency ≤ recency ≤ periods)")
            }
            guard n <= mostPeriods else {
                throw LifetimeValueError.invalidData("periods \(n): BG/BB takes at most \(Int(mostPeriods)) opportunities per customer")
            }
        }
    }

    public func logLikelihood(_ data: PurchaseHistories) -> Double {
        Likelihood(data: data).logLikelihood(parameters).value
    }

    /// ln B(α+x+j, β+n−x+k)/B(α,β) + ln B(γ+g, δ+m)/B(γ,δ): one term of the sums below.
    private func logTerm(transactions: Double, misses: Double, dies: Bool, survived m: Double) -> Double {
        Special.logBeta(alpha + transactions, beta + misses) - Special.logBeta(alpha, beta)
            + Special.logBeta(gamma + (dies ? 1 : 0), delta + m) - Special.logBeta(gamma, delta)
    }

    private func logLikelihood(x: Double, tx: Double, n: Double) -> Double {
        BGBB.Likelihood.row(parameters, x: x, tx: tx, n: n, gradient: false).value
    }

    /// Whole future opportunities in a horizon t (fractions of an opportunity do not count).
    private func opportunities(_ t: Double) -> Int { t > 0 ? Int(t.rounded(.down)) : 0 }

    /// Expected transactions in the first t opportunities of a customer just acquired.
    public func expectedPurchases(in t: Double) -> Double {
        expectedPurchasesIfAlive(in: t, frequency: 0, T: 0)
    }

    /// Expected transactions in the next t opportunities of a customer alive at opportunity n:
    /// the paper's eq. 13 over P(alive), Σₖ E[p · 1(alive at n+k) | alive at n, x], with
    /// E[p(1−θ)ᵏ…] as ratios of beta functions.
    public func expectedPurchasesIfAlive(in t: Double, frequency x: Double, T n: Double) -> Double {
        let logAlive = logTerm(transactions: x, misses: n - x, dies: false, survived: n)
        var total = 0.0
        for k in stride(from: 1, through: opportunities(t), by: 1) {
            total += exp(logTerm(transactions: x + 1, misses: n - x, dies: false, survived: n + Double(k)) - logAlive)
        }
        return total
    }

    /// P(alive at opportunity n | history) (the paper's eq. A10 with no future opportunities).
    public func pAlive(frequency x: Double, recency tx: Double, T n: Double) -> Double {
        min(1, exp(logTerm(transactions: x, misses: n - x, dies: false, survived: n) - logLikelihood(x: x, tx: tx, n: n)))
    }

    /// P(alive at n + t | alive at n) = E[(1−θ)ᵗ | alive at n].
    public func survivalIfAlive(over t: Double, frequency x: Double, T n: Double) -> Double {
        exp(Special.logBeta(gamma, delta + n + Double(opportunities(t))) - Special.logBeta(gamma, delta + n))
    }

    /// DERT / P(alive) for each (x, n) (see the header), with the discount per opportunity given
    /// as the continuous rate δ = ln(1+d), z = e^(−δ).
    public func discountedResidualPurchasesIfAlive(continuousRate rate: Double, frequency: [Double], T: [Double]) -> [Double] {
        guard rate > 0, rate.isFinite else { return frequency.map { _ in .nan } }
        let z = exp(-rate)
        return parallelMap(frequency.count) { i in
            let (x, n) = (frequency[i], T[i])
            guard let series = Special.hypergeometricUnitA(delta + n + 1, gamma + delta + n + 1, z) else { return .nan }
            return exp(log((alpha + x) / (alpha + beta + n)) + log((delta + n) / (gamma + delta + n)) - rate + series.log)
        }
    }

    /// The paper's DERT(d | α, β, γ, δ, x, tₓ, n) with d the discount rate per opportunity.
    public func discountedExpectedResidualTransactions(discountRate d: Double, frequency x: Double, recency tx: Double,
                                                      T n: Double) throws -> Double {
        guard d > 0, d.isFinite else { throw LifetimeValueError.invalidParameters("the discount rate must be positive (got \(d))") }
        return try discountedExpectedResidualTransactions(continuousRate: log1p(d), frequency: x, recency: tx, T: n)
    }

    /// P(exactly j transactions in the next t opportunities | history). With A the future
    /// opportunities the customer lives through (A = a < m: dies after opportunity n+a, A = m:
    /// alive throughout), P(j, history) = Σₐ C(a, j) B(α+x+j, β+n−x+a−j)/B(α,β) · P_θ(a), plus,
    /// for j = 0, the history's own "already dead" terms.
    public func probabilityOfPurchases(_ j: Int, in t: Double, frequency x: Double, recency tx: Double, T n: Double) -> Double {
        let m = opportunities(t)
        let logL = logLikelihood(x: x, tx: tx, n: n)
        let logAliveAtN = logTerm(transactions: x, misses: n - x, dies: false, survived: n)
        var total = j == 0 ? max(0, 1 - exp(logAliveAtN - logL)) : 0
        guard j <= m else { return total }
        let jj = Double(j)
        for a in j...m {
            let aa = Double(a)
            let logChoose = lgamma(aa + 1) - lgamma(jj + 1) - lgamma(aa - jj + 1)
            total += exp(logChoose + logTerm(transactions: x + jj, misses: n - x + aa - jj, dies: a < m, survived: n + aa) - logL)
        }
        return total
    }

    struct Likelihood: LikelihoodModel {
        let data: PurchaseHistories
        static var parameterNames: [String] { BGBB.parameterNames }
        var customerCount: Double { data.customerCount }

        func logLikelihood(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            sumRows(data) { i in Self.row(p, x: data.frequency[i], tx: data.recency[i], n: data.T[i], gradient: true) }
        }

        /// ln L of one history and its gradient: the terms' log-sum-exp, kept online (the
        /// running sum rescaled whenever a larger term arrives), and the average of their
        /// gradients weighted by their shares.
        static func row(_ p: [Double], x: Double, tx: Double, n: Double, gradient wanted: Bool) -> (value: Double, gradient: SIMD4<Double>) {
            let (alpha, beta, gamma, delta) = (p[0], p[1], p[2], p[3])
            let base = Special.logBeta(alpha, beta) + Special.logBeta(gamma, delta)
            let psiAB = Special.digamma(alpha + beta), psiGD = Special.digamma(gamma + delta)
            let baseGradient = SIMD4(Special.digamma(alpha) - psiAB, Special.digamma(beta) - psiAB,
                                     Special.digamma(gamma) - psiGD, Special.digamma(delta) - psiGD)
            let psiAX = Special.digamma(alpha + x)
            var top = -Double.infinity, sum = 0.0, gradient = SIMD4<Double>.zero
            // Term: B(α+x, β+misses)/B(α,β) · B(γ+dies, δ+survived)/B(γ,δ).
            func add(misses: Double, dies: Bool, survived: Double) {
                let g = dies ? gamma + 1 : gamma
                let value = Special.logBeta(alpha + x, beta + misses) + Special.logBeta(g, delta + survived) - base
                if value > top {
                    let shrink = exp(top - value)
                    sum *= shrink
                    gradient *= shrink
                    top = value
                }
                let share = exp(value - top)
                sum += share
                guard wanted else { return }
                let psiP = Special.digamma(alpha + beta + x + misses), psiT = Special.digamma(g + delta + survived)
                gradient += share * (SIMD4(psiAX - psiP, Special.digamma(beta + misses) - psiP,
                                           Special.digamma(g) - psiT, Special.digamma(delta + survived) - psiT) - baseGradient)
            }
            add(misses: n - x, dies: false, survived: n)
            var i = 0.0
            while i < n - tx {
                add(misses: tx - x + i, dies: true, survived: tx + i)
                i += 1
            }
            return (top + log(sum), gradient / sum)
        }
    }
}

extension BGBB: PurchasePredicting {}
