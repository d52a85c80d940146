#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// The BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the easy way:
/// an alternative to the Pareto/NBD model", Marketing Science 24(2).
///
/// While active, a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase the
/// customer drops out with probability p ~ Beta(a, b). For a customer with x repeat purchases,
/// the last at tₓ, observed for T (the paper's eq. 6):
///
///     L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / Γ(r) · [ (α+T)^−(r+x) + δ(x>0) a/(b+x−1) (α+tₓ)^−(r+x) ]
///
/// Goals, in order: no overflow for any data (the paper's closed form overflows in a
/// spreadsheet for large x, Hardie's note "Overcoming the BG/NBD model's #NUM! error
/// problem"), accuracy of predictions to lifetimes' 1e-6, then speed.
///
/// Hazards and guards:
/// - Every factor is taken in logs (`lgamma`, log B) and the bracket by log-sum-exp of
///   A₃ = −(r+x) ln(α+T) and A₄ = ln a − ln(b+x−1) − (r+x) ln(α+tₓ), so no power overflows.
/// - The conditional expectation (eq. 10) multiplies ((α+T)/(α+T+t))^(r+x), which underflows,
///   by ₂F₁(r+x, b+x; a+b+x−1; z), whose terms grow like e^(xz) before they shrink. Euler's
///   transformation ₂F₁(a,b;c;z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) turns the product into
///   (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose terms shrink from the start.
/// - P(alive) = 1 / (1 + exp(L)) with L in logs.
///
/// Discounted expected residual transactions have no published closed form for this model;
/// `DiscountedResidualPurchases.swift` derives and evaluates them.
public struct BGNBD: Sendable, Equatable {
    public var r: Double
    public var alpha: Double
    public var a: Double
    public var b: Double

    public static let parameterNames = ["r", "alpha", "a", "b"]

    public init(r: Double, alpha: Double, a: Double, b: Double) throws {
        guard [r, alpha, a, b].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("BG/NBD needs positive r, alpha, a, b (got \(r), \(alpha), \(a), \(b))")
        }
        (self.r, self.alpha, self.a, self.b) = (r, alpha, a, b)
    }

    public var parameters: [Double] { [r, alpha, a, b] }

    /// Fits the model by maximum likelihood.
    public static func fit(_ data: PurchaseHistories, penalty: Double = 0) throws -> (model: BGNBD, fit: FitResult) {
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        optimiser.penaltyUnits = [1, data.longestT, 1, 1]
        let result = try optimiser.fit(Likelihood(data: data), start: [1, max(1, data.meanT), 1, 1],
                                       alternative: [1, max(1, data.meanT), 0.1, 1], ridge: [2, 3],
                                       subsample: data.warmStart.map(Likelihood.init))
        let p = result.parameters
        return (try BGNBD(r: p[0], alpha: p[1], a: p[2], b: p[3]), result)
    }

    /// The log-likelihood of the data at these parameters.
    public func logLikelihood(_ data: PurchaseHistories) -> Double {
        Likelihood(data: data).logLikelihood(parameters).value
    }

    /// The expected number of purchases in (0, t] of a customer just acquired (eq. 9).
    public func expectedPurchases(in t: Double) -> Double {
        expectedPurchasesIfAlive(in: t, frequency: 0, T: 0)
    }

    /// The expected purchases in the next t of a customer alive at T: eq. 10 without its
    /// P(alive) factor, which depends on x and T only.
    public func expectedPurchasesIfAlive(in t: Double, frequency x: Double, T: Double) -> Double {
        guard t > 0 else { return 0 }
        return future(frequency: x, T: T).checked(betaGeometricExpectation(t: t, T: T, alpha: alpha, a: a, upper: a + b - 1 - r, c: a + b + x - 1), over: t)
    }

    /// The probability that a customer with this history is still active at T.
    public func pAlive(frequency x: Double, recency tx: Double, T: Double) -> Double {
        guard x > 0 else { return 1 }
        let logOdds = log(a) - log(b + x - 1) + (r + x) * (log(alpha + T) - log(alpha + tx))
        return 1 / (1 + exp(logOdds))
    }

    /// The future of this customer if alive now: λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x).
    private func future(frequency x: Double, T: Double) -> BetaGeometricFuture {
        BetaGeometricFuture(shape: r + x, rate: alpha + T, a: a, b: b + x)
    }

    public func survivalIfAlive(over t: Double, frequency x: Double, T: Double) -> Double {
        future(frequency: x, T: T).survival(over: t)
    }

    /// P(exactly n purchases in the next t | x, tₓ, T); with x = tₓ = T = 0, the paper's eq. 8
    /// for a new customer.
    public func probabilityOfPurchases(_ n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        let alive = pAlive(frequency: x, recency: tx, T: T)
        return alive * future(frequency: x, T: T).probabilityOfPurchases(n, in: t) + (n == 0 ? 1 - alive : 0)
    }

    public func probabilitiesOfPurchases(below n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> [Double] {
        future(frequency: x, T: T).probabilitiesOfPurchases(below: n, in: t, alive: pAlive(frequency: x, recency: tx, T: T))
    }

    /// P(fewer than n purchases in the next t | x, tₓ, T), the sum of
    /// `probabilitiesOfPurchases(below: n, …)`, in O(n) rather than O(n²).
    public func probabilityOfFewerPurchases(than n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        future(frequency: x, T: T).probabilityOfFewerPurchases(than: n, in: t, alive: pAlive(frequency: x, recency: tx, T: T))
    }

    /// The discounted purchases still to come of a customer alive at T, E[λ/(δ + pλ)] over
    /// λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x), by the Mellin–Barnes integral of
    /// `BetaGeometricResidualPurchases`; times P(alive), the DERT.
    public func discountedResidualPurchasesIfAlive(continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double] {
        betaGeometricDiscountedResidualPurchases(r: r, alpha: alpha, a: a, b: b, survived: 0, continuousRate: delta, frequency: frequency, T: T)
    }

    /// The log-likelihood and its analytic gradient, summed over the distinct rows.
    struct Likelihood: LikelihoodModel {
        let data: PurchaseHistories
        static var parameterNames: [String] { BGNBD.parameterNames }
        var customerCount: Double { data.customerCount }

        func logLikelihood(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            let (r, alpha, a, b) = (p[0], p[1], p[2], p[3])
            let shared = lgamma(a + b) - lgamma(b) - lgamma(r) + r * log(alpha)
            let psiAB = Special.digamma(a + b), psiB = Special.digamma(b), psiR = Special.digamma(r)
            // The log-gammas, digammas and ln(b+x−1) depend on the row only through x.
            let perX = FrequencyTable(data) { x in
                (Special.logGamma(r + x) + Special.logGamma(b + x) - Special.logGamma(a + b + x), Self.digammas(r, a, b, x))
            }
            let logA = log(a), logAlpha = log(alpha)
            let (logAges, logRecencies) = data.logarithms(shiftedBy: alpha)
            return sumRows(data) { i in
                let x = data.frequency[i], tx = data.recency[i], T = data.T[i]
                let (logGammas, psi) = perX[x]
                let logT = logAges[Int(data.ageIndex[i])]
                let a3 = -(r + x) * logT
                var ll = shared + logGammas
                var gradient = Self.gradientOutsideLogarithm(psi, psiR: psiR, psiAB: psiAB, psiB: psiB, logAlpha: logAlpha, r: r, alpha: alpha)
                if x > 0 {
                    let logTx = logRecencies[Int(data.recencyIndex[i])]
                    let a4 = logA - psi[3] - (r + x) * logTx
                    // ln(e^A₃ + e^A₄) = max + ln(1 + e^−|A₃−A₄|): one exp and one log1p.
                    let (e, w3, w4) = Special.logSumExpTerms(a3, a4)
                    ll += max(a3, a4) + log1p(e)
                    gradient[0] += -w3 * logT - w4 * logTx
                    gradient[1] += -(r + x) * (w3 / (alpha + T) + w4 / (alpha + tx))
                    gradient[2] += w4 / a
                    gradient[3] += -w4 / (b + x - 1)
                } else {
                    ll += a3
                    gradient[0] -= logT
                    gradient[1] -= (r + x) / (alpha + T)
                }
                return (ll, gradient)
            }
        }

        /// ψ(r+x), ψ(a+b+x), ψ(b+x) and ln(b+x−1) (0 for x = 0): what a row's derivatives
        /// read of its frequency x.
        private static func digammas(_ r: Double, _ a: Double, _ b: Double, _ x: Double) -> SIMD4<Double> {
            SIMD4(Special.digamma(r + x), Special.digamma(a + b + x), Special.digamma(b + x), x > 0 ? log(b + x - 1) : 0)
        }

        /// A row's gradient from the terms outside the logarithm, given its `digammas`.
        private static func gradientOutsideLogarithm(_ psi: SIMD4<Double>, psiR: Double, psiAB: Double, psiB: Double,
                                                     logAlpha: Double, r: Double, alpha: Double) -> SIMD4<Double> {
            SIMD4(psi[0] - psiR + logAlpha, r / alpha, psiAB - psi[1], psiAB + psi[2] - psiB - psi[1])
        }

        /// The gradient and Hessian in closed form, in one pass over the rows. Per row, the
        /// terms outside the logarithm give ψ′(r+x) − ψ′(r) for r, 1/α and −r/α² for α, and
        /// ψ′(a+b) − ψ′(a+b+x) (+ ψ′(b+x) − ψ′(b) for b) for a and b; the logarithm
        /// L = ln(e^A₃ + e^A₄) (L = A₃ when x = 0), with weights wₖ = e^Aₖ⁻ᴸ, has
        /// ∇²L = w₃∇²A₃ + w₄∇²A₄ + w₃w₄(∇A₃ − ∇A₄)(∇A₃ − ∇A₄)ᵀ, where A₃ = −(r+x) ln(α+T) and
        /// A₄ = ln a − ln(b+x−1) − (r+x) ln(α+tₓ).
        func secondDerivatives(_ p: [Double]) -> (gradient: [Double], hessian: [Double])? {
            let (r, alpha, a, b) = (p[0], p[1], p[2], p[3])
            let psiAB = Special.digamma(a + b), psiB = Special.digamma(b), psiR = Special.digamma(r)
            let psi1AB = Special.trigamma(a + b), psi1B = Special.trigamma(b), psi1R = Special.trigamma(r)
            // Per x: the digammas of the gradient, then ψ′(r+x) − ψ′(r), ψ′(a+b) − ψ′(a+b+x) and
            // ψ′(b+x) − ψ′(b), and ln(b+x−1).
            let perX = FrequencyTable(data) { x in
                (Self.digammas(r, a, b, x),
                 SIMD4(Special.trigamma(r + x) - psi1R, psi1AB - Special.trigamma(a + b + x), Special.trigamma(b + x) - psi1B, 0))
            }
            let logA = log(a), logAlpha = log(alpha)
            let (logAges, logRecencies) = data.logarithms(shiftedBy: alpha)
            return sumRowsSecondOrder(data) { i in
                let x = data.frequency[i], tx = data.recency[i], T = data.T[i]
                let (psi, psi1) = perX[x]
                let logT = logAges[Int(data.ageIndex[i])]
                var gradient = Self.gradientOutsideLogarithm(psi, psiR: psiR, psiAB: psiAB, psiB: psiB, logAlpha: logAlpha, r: r, alpha: alpha)
                var hessian = SIMD16<Double>.zero
                hessian[0] = psi1[0]
                hessian[1] = 1 / alpha
                hessian[5] = -r / (alpha * alpha)
                hessian[10] = psi1[1]
                hessian[11] = psi1[1]
                hessian[14] = psi1[1]
                hessian[15] = psi1[1] + psi1[2]
                let d3 = SIMD4(-logT, -(r + x) / (alpha + T), 0, 0)
                // ∇²A₃: −1/(α+T) for (r, α), (r+x)/(α+T)² for (α, α).
                let h3 = (rAlpha: -1 / (alpha + T), alphaAlpha: (r + x) / ((alpha + T) * (alpha + T)))
                if x > 0 {
                    let logTx = logRecencies[Int(data.recencyIndex[i])]
                    let a3 = -(r + x) * logT, a4 = logA - psi[3] - (r + x) * logTx
                    let (_, w3, w4) = Special.logSumExpTerms(a3, a4)
                    let d4 = SIMD4(-logTx, -(r + x) / (alpha + tx), 1 / a, -1 / (b + x - 1))
                    gradient += w3 * d3 + w4 * d4
                    let difference = d3 - d4
                    let outer = SIMD16(lowHalf: SIMD8(lowHalf: difference[0] * difference, highHalf: difference[1] * difference),
                                       highHalf: SIMD8(lowHalf: difference[2] * difference, highHalf: difference[3] * difference))
                    hessian += (w3 * w4) * outer
                    hessian[1] += w3 * h3.rAlpha - w4 / (alpha + tx)
                    hessian[5] += w3 * h3.alphaAlpha + w4 * (r + x) / ((alpha + tx) * (alpha + tx))
                    hessian[10] -= w4 / (a * a)
                    hessian[15] += w4 / ((b + x - 1) * (b + x - 1))
                } else {
                    gradient += d3
                    hessian[1] += h3.rAlpha
                    hessian[5] += h3.alphaAlpha
                }
                hessian[4] = hessian[1]
                return (gradient, hessian)
            }
        }
    }
}

/// c/(a−1) · [1 − (1−z)^(a−1) ₂F₁(upper, a−1; c; z)] with z = t/(α+T+t): the expectation
/// shared by BG/NBD and MBG/NBD once Euler's transformation has been applied (see BGNBD's
/// header), 1 − (…) taken by expm1 when the product is near 1 (small t).
///
/// At a = 1 the closed form is 0/0 (c/0 · [1 − 1]), and it loses digits within about 1e-8
/// of it; within 1e-6 the expectation, smooth in a, is interpolated between a = 1 ∓ 2·10⁻⁶
/// (upper and c moving with a), exact to about 1e-11. An earlier version gave 0 at a = 1.
func betaGeometricExpectation(t: Double, T: Double, alpha: Double, a: Double, upper: Double, c: Double) -> Double {
    if abs(a - 1) < 1e-6 {
        let (low, high) = (1 - 2e-6, 1 + 2e-6)
        let below = betaGeometricExpectation(t: t, T: T, alpha: alpha, a: low, upper: upper + (low - a), c: c + (low - a))
        let above = betaGeometricExpectation(t: t, T: T, alpha: alpha, a: high, upper: upper + (high - a), c: c + (high - a))
        return below + (a - low) / (high - low) * (above - below)
    }
    let z = t / (alpha + T + t)
    guard let series = Special.logHypergeometric2F1(upper, a - 1, c, z) else { return .nan }
    let logProduct = (a - 1) * log1p(-z) + series.log
    let shrunk = series.sign > 0 ? -expm1(logProduct) : 1 + exp(logProduct)
    // For tiny t the product rounds to just above 1; an expectation is never negative.
    return max(0, c / (a - 1) * shrunk)
}

/// What lies ahead of a customer alive now in the BG/NBD family: purchases at Poisson rate
/// λ ~ Gamma(shape, rate), and after each purchase a dropout with probability p ~ Beta(a, b)
/// (the posteriors given the history). With N(t) ~ NB the purchases a live customer would
/// make, and J the purchase after which it drops out (P(J ≥ k) = E(1−p)^(k−1)), the
/// purchases made are X = min(N, J):
///
///     P(X = n) = P(N = n) E(1−p)^(n−1) + P(N > n) E[p (1−p)^(n−1)]   (n ≥ 1),   P(X = 0) = P(N = 0),
///
/// with E(1−p)ᵏ = B(a, b+k)/B(a, b) and E[p(1−p)ᵏ] = B(a+1, b+k)/B(a, b), all in logs.
struct BetaGeometricFuture {
    var shape: Double
    var rate: Double
    var a: Double
    var b: Double

    func probabilityOfPurchases(_ n: Int, in t: Double) -> Double {
        var below = 0.0
        for k in 0..<n { below += negativeBinomialProbability(k, shape: shape, rate: rate, exposure: t) }
        return probabilityOfPurchases(n, in: t, below: below).probability
    }

    /// P(X = 0), …, P(X = n − 1) in one pass, equal to `probabilityOfPurchases` count by count
    /// to 1e-10 (or 1e-13 where a small probability takes the rounding of 1 − P(N ≤ n), which
    /// both share): the negative binomial's probabilities come from its recurrence
    /// (`addNegativeBinomialProbabilities`) and the beta ratios from theirs,
    /// B(a, b+k+1)/B(a, b) = B(a, b+k)/B(a, b) · (b+k)/(a+b+k) and
    /// B(a+1, b+k) = B(a, b+k) · a/(a+b+k), where one count takes nine log-gammas. A
    /// thousand counts of CDNOW's 23,570 customers took 10 s that way.
    func probabilitiesOfPurchases(below n: Int, in t: Double) -> [Double] {
        var probabilities = [Double](repeating: 0, count: max(n, 0))
        forEachProbabilityOfPurchases(below: n, in: t) { k, probability in probabilities[k] = probability }
        return probabilities
    }

    /// The same for a customer alive now with probability `alive` (who, if not, makes none):
    /// each count as the models' `probabilityOfPurchases` gives it.
    func probabilitiesOfPurchases(below n: Int, in t: Double, alive: Double) -> [Double] {
        probabilitiesOfPurchases(below: n, in: t).enumerated().map { alive * $0.element + ($0.offset == 0 ? 1 - alive : 0) }
    }

    /// The sum of `probabilitiesOfPurchases(below: n, in: t, alive: alive)`, the same bits, with
    /// the counts summed as they come instead of kept in arrays: the churn metrics take it for
    /// every distinct history, where the arrays' allocations cost more than the sums.
    func probabilityOfFewerPurchases(than n: Int, in t: Double, alive: Double) -> Double {
        var total = 0.0
        forEachProbabilityOfPurchases(below: n, in: t) { k, probability in total += alive * probability + (k == 0 ? 1 - alive : 0) }
        return total
    }

    /// Calls `body(k, P(X = k))` for k = 0 ..< n, in order (see `probabilitiesOfPurchases`).
    private func forEachProbabilityOfPurchases(below n: Int, in t: Double, _ body: (Int, Double) -> Void) {
        guard n > 0 else { return }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { exactly in
            exactly.initialize(repeating: 0)
            addNegativeBinomialProbabilities(into: exactly, weight: 1, shape: shape, rate: rate, exposure: t)
            body(0, exactly[0])
            // P(N < k) and E(1−p)^(k−1) = B(a, b+k−1)/B(a, b) for the count k in hand.
            var below = exactly[0], survival = 1.0
            for k in 1..<n {
                let j = Double(k - 1)
                let more = max(0, 1 - below - exactly[k])
                body(k, exactly[k] * survival + more * survival * (a / (a + b + j)))
                below += exactly[k]
                survival *= (b + j) / (a + b + j)
            }
        }
    }

    /// P(X = n) and P(N = n), given P(N < n).
    private func probabilityOfPurchases(_ n: Int, in t: Double, below: Double) -> (probability: Double, exactly: Double) {
        let exactly = negativeBinomialProbability(n, shape: shape, rate: rate, exposure: t)
        guard n > 0 else { return (exactly, exactly) }
        let more = max(0, 1 - below - exactly)
        let k = Double(n - 1), logB = Special.logBeta(a, b)
        return (exactly * exp(Special.logBeta(a, b + k) - logB) + more * exp(Special.logBeta(a + 1, b + k) - logB), exactly)
    }

    /// The closed form's `expectation`, kept when it lies where E[X] must: at least
    /// P(N ≥ 1) (the first purchase is made by a live customer) and at most E[N] (a live
    /// customer's purchases, X ≤ N). Outside, or not finite, it has lost its digits (BG/NBD at
    /// r 1000, α 100, a 100, b 1 gave 6.9e77 purchases at T = 0.01 and 0 at T = 10, where
    /// both are 1.0101), and the series is summed instead.
    func checked(_ closed: Double, over t: Double) -> Double {
        let atLeastOne = -expm1(-shape * log1p(t / rate)), mean = shape * t / rate
        if closed.isFinite, closed >= atLeastOne * (1 - 1e-9), closed <= mean * (1 + 1e-9) { return closed }
        return expectation(over: t) ?? .nan
    }

    /// E[X] = Σₖ≥₁ P(N ≥ k) E(1−p)^(k−1), summed by the negative binomial's and the beta
    /// ratios' recurrences until the terms cannot change it: every term positive, so it holds
    /// where the closed form's hypergeometric function loses its digits (r in the hundreds,
    /// a far above b, T near 0). nil when the sum would take more than 10⁸ terms (a few tenths
    /// of a second: a mean of ten million purchases in the horizon).
    func expectation(over t: Double) -> Double? {
        guard t > 0 else { return 0 }
        let mean = shape * t / rate
        // P(N ≥ k) for the term k in hand: P(N ≥ 1) in full, then less each P(N = k − 1).
        var atLeast = -expm1(-shape * log1p(t / rate))
        var survival = 1.0, total = 0.0
        var result: Double?, capped = false
        // P(N = j) arrives for the term k = j + 1.
        forEachNegativeBinomialProbability(shape: shape, rate: rate, exposure: t) { j, p in
            if j > 0 {
                atLeast = max(0, atLeast - p)
                survival *= (b + Double(j) - 1) / (a + b + Double(j) - 1)
            }
            guard j + 1 < 100_000_000 else {
                capped = true
                return false
            }
            total += atLeast * survival
            // Past the mean, P(N = k − 1) below 1e-20 leaves no mass that counts (what
            // P(N ≥ k) still holds then is the rounding of the subtractions, which would
            // never shrink, and P(N = k) itself sticks at the smallest subnormal).
            if Double(j + 1) > mean, p < 1e-20 || atLeast * survival <= 1e-17 * total || survival <= 0 {
                result = total
                return false
            }
            return true
        }
        // The run also ends when P(N = k) reaches 0 past the mode: the mass is spent.
        return capped ? nil : result ?? total
    }

    /// P(still active after another t | active now) = Σₖ P(N = k) E(1−p)ᵏ, summed until the
    /// negative binomial's remaining mass cannot change the result.
    func survival(over t: Double) -> Double {
        guard t > 0 else { return 1 }
        let logOdds = log(t) - log(rate + t)
        var logProbability = -shape * log1p(t / rate)
        let logB = Special.logBeta(a, b)
        var total = 0.0, mass = 0.0
        let mean = shape * t / rate
        var k = 0.0
        while k < 1e8 {
            let probability = exp(logProbability)
            total += probability * exp(Special.logBeta(a, b + k) - logB)
            mass += probability
            if k > mean && (1 - mass < 1e-16 || probability < 1e-300) { break }
            logProbability += log(shape + k) - log(k + 1) + logOdds
            k += 1
        }
        return min(1, total)
    }
}

/// Σᵢ wᵢ fᵢ over the distinct rows, with the gradient (up to four parameters, in a SIMD4 so
/// that no row allocates).
func sumRows(_ data: PurchaseHistories, parameters: Int = 4, _ row: (Int) -> (Double, SIMD4<Double>)) -> (value: Double, gradient: [Double]) {
    sumRows(count: data.distinctCount, parameters: parameters) { i in
        let (v, g) = row(i)
        let w = data.weight[i]
        return (w * v, w * g)
    }
}

/// Σᵢ fᵢ for i in 0..<count, with the gradient.
func sumRows(count n: Int, parameters: Int, _ row: (Int) -> (Double, SIMD4<Double>)) -> (value: Double, gradient: [Double]) {
    let (value, gradient) = sumInHalves(count: n, zero: (0.0, SIMD4<Double>.zero), row) { sum, term in
        sum.0 += term.0
        sum.1 += term.1
    }
    return (value, (0..<parameters).map { gradient[$0] })
}

/// Σᵢ wᵢ ∇fᵢ and Σᵢ wᵢ ∇²fᵢ over the distinct rows (four parameters, the Hessian row-major in
/// a SIMD16).
func sumRowsSecondOrder(_ data: PurchaseHistories, _ row: (Int) -> (SIMD4<Double>, SIMD16<Double>)) -> (gradient: [Double], hessian: [Double]) {
    sumRowsSecondOrder(count: data.distinctCount, parameters: 4) { i in
        let (g, h) = row(i)
        let w = data.weight[i]
        return (w * g, w * h)
    }
}

/// Σᵢ ∇fᵢ and Σᵢ ∇²fᵢ for i in 0..<count (up to four parameters; the Hessian row-major, four
/// to a row, in a SIMD16); the Hessian is returned `parameters` × `parameters`.
func sumRowsSecondOrder(count n: Int, parameters: Int, _ row: (Int) -> (SIMD4<Double>, SIMD16<Double>)) -> (gradient: [Double], hessian: [Double]) {
    let (gradient, hessian) = sumInHalves(count: n, zero: (SIMD4<Double>.zero, SIMD16<Double>.zero), row) { sum, term in
        sum.0 += term.0
        sum.1 += term.1
    }
    return ((0..<parameters).map { gradient[$0] }, (0..<(parameters * parameters)).map { hessian[4 * ($0 / parameters) + $0 % parameters] })
}

/// Σᵢ row(i) for i in 0..<count, summed by `add`. Large sums run on two threads in two fixed
/// halves added in a fixed order, so the result is the same whatever the cores.
func sumInHalves<Sum>(count n: Int, zero: Sum, _ row: (Int) -> Sum, _ add: (inout Sum, Sum) -> Void) -> Sum {
    let threads = n >= 20_000 ? 2 : 1
    var partial = [Sum](repeating: zero, count: threads)
    withoutActuallyEscaping(row) { row in
        withoutActuallyEscaping(add) { add in
            let (shared, adding, start) = (UncheckedBox(row), UncheckedBox(add), UncheckedBox(zero))
            partial.withUnsafeMutableBufferPointer { slots in
                let output = UncheckedBox(slots)
                let work: @Sendable (Int) -> Void = { t in
                    var sum = start.value
                    for i in (n * t / threads)..<(n * (t + 1) / threads) { adding.value(&sum, shared.value(i)) }
                    output.value[t] = sum
                }
                if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
            }
        }
    }
    var total = zero
    for sum in partial { add(&total, sum) }
    return total
}

/// `body(i)` for i in 0..<count, on two threads from `threshold` items on (fewer cheap items
/// are not worth waking a thread), each writing its own half: the result does not depend on
/// the number of threads.
func parallelMap<T>(_ count: Int, serialBelow threshold: Int = 4096, _ body: (Int) -> T) -> [T] {
    guard count >= max(2, threshold) else { return (0..<count).map(body) }
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBox(body), output = UncheckedBox(buffer)
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                for i in (count * half / 2)..<(count * (half + 1) / 2) {
                    (output.value.baseAddress! + i).initialize(to: shared.value(i))
                }
            }
        }
        initialized = count
    }
}

/// Per-frequency values (lgamma and digamma of parameters plus x), computed once per pass
/// for every whole x up to the largest, instead of once per row.
struct FrequencyTable<Value> {
    private var values: [Value]
    private let compute: (Double) -> Value

    init(_ data: PurchaseHistories, _ compute: @escaping (Double) -> Value) {
        self.init(largest: data.frequency.max() ?? 0, compute)
    }

    /// The values for every whole x up to `largest` (none beyond a million, computed as asked).
    init(largest: Double, _ compute: @escaping (Double) -> Value) {
        self.compute = compute
        values = largest <= 1_000_000 ? (0...Int(largest)).map { compute(Double($0)) } : []
    }

    subscript(x: Double) -> Value {
        let index = Int(x)
        return index < values.count ? values[index] : compute(x)
    }
}

/// A value shared with worker threads that only read it.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
