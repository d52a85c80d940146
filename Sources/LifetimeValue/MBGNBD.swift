#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The MBG/NBD model of Batislam, Denizel & Filiztekin (2007), "Empirical validation and
/// comparison of models for customer base analysis", IJRM 24(3), as lifetimes fits it.
///
/// Like BG/NBD, but a customer may also drop out at time 0, right after the first purchase,
/// so a customer with no repeat purchase need not be alive. The likelihood, in log space,
///
///     ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b) − (r+x) ln(α+T)
///            + ln(1 + exp A₄),   A₄ = ln a − ln(b+x) + (r+x) (ln(α+T) − ln(α+tₓ)),
///
/// takes the last term as a softplus so it never overflows. P(alive) = 1 / (1 + exp A₄).
/// The conditional expectation (Wagner & Hoppe 2008) uses the same Euler transformation as
/// BG/NBD: (1−z)^(r+x) ₂F₁(r+x, b+x+1; a+b+x; z) = (1−z)^(a−1) ₂F₁(a+b−r, a−1; a+b+x; z).
public struct MBGNBD: Sendable, Equatable, PurchasePredicting {
    public var r: Double
    public var alpha: Double
    public var a: Double
    public var b: Double

    public static let parameterNames = ["r", "alpha", "a", "b"]

    public init(r: Double, alpha: Double, a: Double, b: Double) throws {
        guard [r, alpha, a, b].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("MBG/NBD needs positive r, alpha, a, b (got \(r), \(alpha), \(a), \(b))")
        }
        (self.r, self.alpha, self.a, self.b) = (r, alpha, a, b)
    }

    public var parameters: [Double] { [r, alpha, a, b] }

    public static func fit(_ data: PurchaseHistories, penalty: Double = 0) throws -> (model: MBGNBD, fit: FitResult) {
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        optimiser.penaltyUnits = [1, data.longestT, 1, 1]
        let result = try optimiser.fit(Likelihood(data: data), start: [1, 1, 1, 1], alternative: [1, 1, 0.1, 1], ridge: [2, 3],
                                       subsample: data.warmStart.map(Likelihood.init))
        let p = result.parameters
        return (try MBGNBD(r: p[0], alpha: p[1], a: p[2], b: p[3]), result)
    }

    public func logLikelihood(_ data: PurchaseHistories) -> Double {
        Likelihood(data: data).logLikelihood(parameters).value
    }

    /// The expected number of purchases in (0, t] of a customer just acquired (who may have
    /// dropped out at once).
    public func expectedPurchases(in t: Double) -> Double {
        expectedPurchasesIfAlive(in: t, frequency: 0, T: 0) * pAlive(frequency: 0, recency: 0, T: 0)
    }

    /// The expected purchases in the next t of a customer alive at T.
    public func expectedPurchasesIfAlive(in t: Double, frequency x: Double, T: Double) -> Double {
        guard t > 0 else { return 0 }
        return future(frequency: x, T: T).checked(betaGeometricExpectation(t: t, T: T, alpha: alpha, a: a, upper: a + b - r, c: a + b + x), over: t)
    }

    public func pAlive(frequency x: Double, recency tx: Double, T: Double) -> Double {
        1 / (1 + exp(logOdds(x, tx, T)))
    }

    /// The future of this customer if alive now: λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x+1)
    /// (it has survived the first purchase as well as x repeats).
    private func future(frequency x: Double, T: Double) -> BetaGeometricFuture {
        BetaGeometricFuture(shape: r + x, rate: alpha + T, a: a, b: b + x + 1)
    }

    public func survivalIfAlive(over t: Double, frequency x: Double, T: Double) -> Double {
        future(frequency: x, T: T).survival(over: t)
    }

    /// P(exactly n purchases in the next t | x, tₓ, T); with x = tₓ = T = 0, for a new customer.
    public func probabilityOfPurchases(_ n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        let alive = pAlive(frequency: x, recency: tx, T: T)
        return alive * future(frequency: x, T: T).probabilityOfPurchases(n, in: t) + (n == 0 ? 1 - alive : 0)
    }

    public func probabilitiesOfPurchases(below n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> [Double] {
        future(frequency: x, T: T).probabilitiesOfPurchases(below: n, in: t, alive: pAlive(frequency: x, recency: tx, T: T))
    }

    /// The discounted purchases still to come of a customer alive at T, E[λ/(δ + pλ)] over
    /// λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x+1) (see `BetaGeometricResidualPurchases`).
    public func discountedResidualPurchasesIfAlive(continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double] {
        betaGeometricDiscountedResidualPurchases(r: r, alpha: alpha, a: a, b: b, survived: 1, continuousRate: delta, frequency: frequency, T: T)
    }

    private func logOdds(_ x: Double, _ tx: Double, _ T: Double) -> Double {
        log(a) - log(b + x) + (r + x) * (log(alpha + T) - log(alpha + tx))
    }

    struct Likelihood: LikelihoodModel {
        let data: PurchaseHistories
        static var parameterNames: [String] { MBGNBD.parameterNames }
        var customerCount: Double { data.customerCount }

        func logLikelihood(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            let (r, alpha, a, b) = (p[0], p[1], p[2], p[3])
            let shared = lgamma(a + b) - lgamma(b) - lgamma(r) + r * log(alpha)
            let psiAB = Special.digamma(a + b), psiB = Special.digamma(b), psiR = Special.digamma(r)
            // The log-gammas, digammas and ln(b+x) depend on the row only through x.
            let perX = FrequencyTable(data) { x in
                (Special.logGamma(r + x) + Special.logGamma(b + x + 1) - Special.logGamma(a + b + x + 1),
                 SIMD4(Special.digamma(r + x), Special.digamma(a + b + x + 1), Special.digamma(b + x + 1), log(b + x)))
            }
            let logA = log(a), logAlpha = log(alpha)
            let (logAges, logRecencies) = data.logarithms(shiftedBy: alpha)
            return sumRows(data) { i in
                let x = data.frequency[i], tx = data.recency[i], T = data.T[i]
                let (logGammas, psi) = perX[x]
                let logT = logAges[Int(data.ageIndex[i])], logTx = logRecencies[Int(data.recencyIndex[i])]
                let a4 = logA - psi[3] + (r + x) * (logT - logTx)
                // softplus(A₄) = ln(1 + e^A₄) and its derivative σ(A₄), both without overflow.
                let e = exp(-abs(a4))
                let softplus = max(a4, 0) + log1p(e)
                let sigma = a4 > 0 ? 1 / (1 + e) : e / (1 + e)
                let ll = shared + logGammas - (r + x) * logT + softplus
                let gR = psi[0] - psiR + logAlpha - logT + sigma * (logT - logTx)
                let gAlpha = r / alpha - (r + x) / (alpha + T) + sigma * (r + x) * (1 / (alpha + T) - 1 / (alpha + tx))
                let gA = psiAB - psi[1] + sigma / a
                let gB = psiAB + psi[2] - psiB - psi[1] - sigma / (b + x)
                return (ll, SIMD4(gR, gAlpha, gA, gB))
            }
        }
    }
}
