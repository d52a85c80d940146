#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Pareto/NBD model of Schmittlein, Morrison & Colombo (1987), in the form of Fader &
/// Hardie's note "A note on deriving the Pareto/NBD model and related expressions" (2005).
///
/// While active, a customer buys at Poisson rate λ ~ Gamma(r, α) and stays active for an
/// exponential time of rate μ ~ Gamma(s, β). For x repeat purchases, the last at tₓ, observed
/// for T, the likelihood splits into "still active at T" and "dropped out in (tₓ, T]":
///
///     L = Γ(r+x) αʳ βˢ / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · (F(tₓ) − F(T)) ]
///
/// where the note writes F(t) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t)) / (α+t)^(r+s+x) for
/// α ≥ β, and the same with α and β swapped and r+x in place of s+1 for α < β.
///
/// Goals, in order: finite, accurate values where other implementations overflow or return
/// NaN (customers with thousands of purchases, α far from β, long T); predictions equal to
/// lifetimes' to 1e-6; analytic gradients (so standard errors are available); then speed.
///
/// Hazards and guards:
/// - The series of that ₂F₁ has terms that grow like (r+x)ₙ/n! zⁿ before they shrink: with
///   x = 1,000 they pass 10³⁰⁰, which is lifetimes' overflow (CamDavidsonPilon/lifetimes#25).
///   Euler's transformation turns both cases into ₂F₁(1, b; r+s+x+1; z) with all terms
///   positive and shrinking by at least z each, times powers taken in logs:
///   F(t) = (β+t)^−s (α+t)^−(r+x) ₂F₁(1, r+x; r+s+x+1; (α−β)/(α+t))     for α ≥ β,
///   F(t) = (α+t)^(1−r−x) (β+t)^−(s+1) ₂F₁(1, s+1; r+s+x+1; (β−α)/(β+t)) for α < β.
/// - F(tₓ) − F(T) is taken as F(tₓ) (1 − q) with q = F(T)/F(tₓ) from logs, by log1p.
/// - The two terms of the bracket are added by log-sum-exp; their shares are P(alive) and
///   the weights of the gradient.
public struct ParetoNBD: Sendable, Equatable {
    public var r: Double
    public var alpha: Double
    public var s: Double
    public var beta: Double

    public static let parameterNames = ["r", "alpha", "s", "beta"]

    public init(r: Double, alpha: Double, s: Double, beta: Double) throws {
        guard [r, alpha, s, beta].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("Pareto/NBD needs positive r, alpha, s, beta (got \(r), \(alpha), \(s), \(beta))")
        }
        (self.r, self.alpha, self.s, self.beta) = (r, alpha, s, beta)
    }

    public var parameters: [Double] { [r, alpha, s, beta] }

    /// Fits the model by maximum likelihood.
    public static func fit(_ data: PurchaseHistories, penalty: Double = 0) throws -> (model: ParetoNBD, fit: FitResult) {
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        optimiser.penaltyUnits = [1, data.longestT, 1, data.longestT]
        optimiser.penaltyPerCustomer = false
        let scale = max(1, data.meanT)
        let result = try optimiser.fit(Likelihood(data: data), start: [1, scale, 1, scale], subsample: data.warmStart.map(Likelihood.init))
        let p = result.parameters
        return (try ParetoNBD(r: p[0], alpha: p[1], s: p[2], beta: p[3]), result)
    }

    public func logLikelihood(_ data: PurchaseHistories) -> Double {
        Likelihood(data: data).logLikelihood(parameters).value
    }

    /// The expected number of purchases in (0, t] of a customer just acquired:
    /// rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)].
    public func expectedPurchases(in t: Double) -> Double {
        guard t > 0 else { return 0 }
        return r / alpha * survivalIntegral(from: beta, over: t)
    }

    /// The expected purchases in the next t of a customer alive at T (the note's eq. 22 without
    /// its P(alive) factor): (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)].
    public func expectedPurchasesIfAlive(in t: Double, frequency x: Double, T: Double) -> Double {
        guard t > 0 else { return 0 }
        return (r + x) / (alpha + T) * survivalIntegral(from: beta + T, over: t)
    }

    /// ∫₀ᵗ (b/(b+τ))ˢ dτ = b/(s−1) · [1 − (b/(b+t))^(s−1)], the expected time alive in the next t
    /// of a customer alive now, with expm1/log1p so that s near 1 and small t lose nothing.
    private func survivalIntegral(from b: Double, over t: Double) -> Double {
        let logRatio = log1p(t / b)
        let e = s - 1
        if abs(e * logRatio) < 1e-8 { return b * logRatio * (1 - e * logRatio / 2) }
        return -b * expm1(-e * logRatio) / e
    }

    /// P(active at T | x, tₓ, T): the share of the likelihood's first term.
    public func pAlive(frequency x: Double, recency tx: Double, T: Double) -> Double {
        let terms = Self.rowTerms(r, alpha, s, beta, x: x, tx: tx, T: T, gradient: false)
        return exp(terms.logActive - terms.logBracket)
    }

    /// Alive now, the posterior dropout rate μ ~ Gamma(s, β+T) leaves the customer active for
    /// another t with probability ((β+T)/(β+T+t))ˢ.
    public func survivalIfAlive(over t: Double, frequency x: Double, T: Double) -> Double {
        exp(-s * log1p(t / (beta + T)))
    }

    /// Discounted expected residual transactions (Fader, Hardie & Lee 2005, "RFM and CLV:
    /// using iso-value curves for customer base analysis", eq. 2) without the P(alive) factor:
    /// the purchases still to come, each discounted continuously at `delta` per unit of time.
    /// Alive now, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T), so with b = β+T
    ///
    ///     DERT / P(alive) = (r+x)/(α+T) · ∫₀^∞ (b/(b+t))ˢ e^(−δt) dt = (r+x)/(α+T) · b · K(s, δb),
    ///
    /// K(s, z) = ∫₀^∞ (1+u)^(−s) e^(−zu) du = zˢ⁻¹ eᶻ Γ(1−s, z) = zˢ⁻¹ U(s, s; z), the paper's
    /// confluent hypergeometric function, evaluated by the continued fraction of the upper
    /// incomplete gamma function, which holds for any s and z > 0 and never forms Γ(1−s).
    public func discountedResidualPurchasesIfAlive(continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double] {
        guard delta > 0, delta.isFinite else { return frequency.map { _ in .nan } }
        return parallelMap(frequency.count) { i in
            let b = beta + T[i]
            return (r + frequency[i]) / (alpha + T[i]) * b * Self.discountedSurvival(s, delta * b)
        }
    }

    /// K(s, z) = ∫₀^∞ (1+u)^(−s) e^(−zu) du by the modified Lentz evaluation of
    /// 1/(z+1−a− 1(1−a)/(z+3−a− 2(2−a)/(z+5−a− …))) with a = 1−s (Numerical Recipes §6.2).
    static func discountedSurvival(_ s: Double, _ z: Double) -> Double {
        let a = 1 - s, tiny = 1e-300
        var b = z + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        var i = 1.0
        while i < 100_000 {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let change = d * c
            h *= change
            if abs(change - 1) < 1e-16 { break }
            i += 1
        }
        return h
    }

    /// P(exactly n purchases in the next t | x, tₓ, T), by the integral below with each
    /// negative binomial in lgamma: one count in constant time, whatever n (the counts
    /// together share a recurrence instead, equal to these to 1e-10).
    public func probabilityOfPurchases(_ n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> Double {
        guard n >= 0 else { return 0 }
        guard t > 0 else { return n == 0 ? 1 : 0 }
        let alive = pAlive(frequency: x, recency: tx, T: T)
        var total = 0.0
        forEachExposure(in: t, T: T) { weight, exposure in
            total += weight * negativeBinomialProbability(n, shape: r + x, rate: alpha + T, exposure: exposure)
        }
        return alive * total + (n == 0 ? 1 - alive : 0)
    }

    /// The spans a customer alive at T buys over in the next t, with their weights: t itself,
    /// weighted by the chance of staying throughout, then the τ of each quadrature node of the
    /// integral over leaving before t (see `probabilitiesOfPurchases`).
    private func forEachExposure(in t: Double, T: Double, _ body: (_ weight: Double, _ exposure: Double) -> Void) {
        let b = beta + T
        let survival = exp(-s * log1p(t / b))
        body(survival, t)
        GaussLegendre.forEachNode(from: 0, to: 1 - survival) { v, weight in body(weight, b * expm1(-log1p(-v) / s)) }
    }

    /// P(exactly 0, …, n − 1 purchases in the next t | x, tₓ, T).
    ///
    /// Given alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T) independently. The customer
    /// stays for min(t, τ) with τ the remaining lifetime, so
    /// P(n | alive) = NB(n; r+x, (α+T)/(α+T+t)) · ((β+T)/(β+T+t))ˢ + ∫₀ᵗ f(τ) NB(n; r+x, (α+T)/(α+T+τ)) dτ,
    /// with f the posterior density of τ. Substituting v = 1 − ((β+T)/(β+T+τ))ˢ (its
    /// distribution function) makes the integrand a bounded probability over v ∈ [0, V),
    /// integrated by composite Gauss–Legendre. Equals the note 028 closed form (eq. 16) that
    /// lifetimes evaluates, without its series of ₂F₁ terms.
    ///
    /// At each quadrature node the counts come from one run of the negative binomial's
    /// recurrence, so n counts cost n steps per node, not n evaluations of lgamma: 1,001 counts
    /// of a customer take about a millisecond.
    public func probabilitiesOfPurchases(below n: Int, in t: Double, frequency x: Double, recency tx: Double, T: Double) -> [Double] {
        guard n > 0 else { return [] }
        guard t > 0 else { return (0..<n).map { $0 == 0 ? 1 : 0 } }
        let alive = pAlive(frequency: x, recency: tx, T: T)
        var sums = [Double](repeating: 0, count: n)
        forEachExposure(in: t, T: T) { weight, exposure in
            addNegativeBinomialProbabilities(into: &sums, weight: weight, shape: r + x, rate: alpha + T, exposure: exposure)
        }
        var probabilities = sums.map { alive * $0 }
        probabilities[0] += 1 - alive
        return probabilities
    }

    /// The log-likelihood and its gradient, summed over the distinct rows.
    ///
    /// F(t) depends on a row only through (x, t), and customers share those pairs far more
    /// than whole histories (a cohort has a few hundred ages and recencies in days, and few
    /// distinct frequencies), so each pass evaluates F once per distinct pair, the
    /// hypergeometric series being almost all of the work, and then combines per row.
    struct Likelihood: LikelihoodModel {
        let data: PurchaseHistories
        static var parameterNames: [String] { ParetoNBD.parameterNames }
        var customerCount: Double { data.customerCount }
        /// The distinct (x, t) pairs, and for each row the pairs (x, tₓ) and (x, T).
        private let pairX: [Double], pairT: [Double]
        private let recencyPair: [Int32], agePair: [Int32]

        init(data: PurchaseHistories) {
            self.data = data
            var keys = DistinctKeys(capacity: min(2 * data.distinctCount, 1 << 16))
            var xs: [Double] = [], ts: [Double] = []
            func pair(_ x: Double, _ t: Double) -> Int32 {
                let (index, isNew) = keys.insert(SIMD4(x.bitPattern, t.bitPattern, 0, 0))
                if isNew {
                    xs.append(x)
                    ts.append(t)
                }
                return index
            }
            var recency = [Int32](), age = [Int32]()
            recency.reserveCapacity(data.distinctCount)
            age.reserveCapacity(data.distinctCount)
            for i in 0..<data.distinctCount {
                recency.append(pair(data.frequency[i], data.recency[i]))
                age.append(pair(data.frequency[i], data.T[i]))
            }
            (pairX, pairT, recencyPair, agePair) = (xs, ts, recency, age)
        }

        func logLikelihood(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3])
            let psiR = Special.digamma(r)
            let shared = -lgamma(r) + r * log(alpha) + s * log(beta)
            let f = parallelMap(pairX.count) { k in ParetoNBD.logF(r, alpha, s, beta, x: pairX[k], t: pairT[k]) }
            let perX = FrequencyTable(data) { x in (Special.logGamma(r + x), Special.digamma(r + x)) }
            return sumRows(data) { i in
                let x = data.frequency[i]
                let row = ParetoNBD.rowTerms(r, alpha, s, beta, x: x, T: data.T[i], atRecency: f[Int(recencyPair[i])],
                                             atT: f[Int(agePair[i])], gradient: true)
                let (logGamma, psi) = perX[x]
                return (shared + logGamma + row.logBracket, row.gradient + SIMD4(psi - psiR + log(alpha), r / alpha, log(beta), s / beta))
            }
        }
    }

    /// ln of the bracket of L (the likelihood without Γ(r+x) αʳ βˢ / Γ(r)), ln of its first
    /// term, and the bracket's gradient in (r, α, s, β).
    static func rowTerms(_ r: Double, _ alpha: Double, _ s: Double, _ beta: Double, x: Double, tx: Double, T: Double,
                         gradient wanted: Bool) -> (logBracket: Double, logActive: Double, gradient: SIMD4<Double>) {
        rowTerms(r, alpha, s, beta, x: x, T: T, atRecency: logF(r, alpha, s, beta, x: x, t: tx),
                 atT: logF(r, alpha, s, beta, x: x, t: T), gradient: wanted)
    }

    /// The same from ln F(tₓ) and ln F(T) already evaluated.
    static func rowTerms(_ r: Double, _ alpha: Double, _ s: Double, _ beta: Double, x: Double, T: Double,
                         atRecency: (value: Double, gradient: SIMD4<Double>), atT: (value: Double, gradient: SIMD4<Double>),
                         gradient wanted: Bool) -> (logBracket: Double, logActive: Double, gradient: SIMD4<Double>) {
        let logAT = log(alpha + T), logBT = log(beta + T)
        let logActive = -(r + x) * logAT - s * logBT
        let activeGradient = SIMD4(-logAT, -(r + x) / (alpha + T), -logBT, -s / (beta + T))
        let q = exp(atT.value - atRecency.value)
        guard q < 1, atRecency.value.isFinite else {
            // Last purchase at T: no room to have dropped out since.
            return (logActive, logActive, activeGradient)
        }
        let logDropped = log(s) - log(r + s + x) + atRecency.value + log1p(-q)
        let logBracket = Special.logSumExp(logActive, logDropped)
        guard wanted else { return (logBracket, logActive, .zero) }
        let wActive = exp(logActive - logBracket), wDropped = exp(logDropped - logBracket)
        let inverseRSX = 1 / (r + s + x)
        let droppedGradient = (atRecency.gradient - q * atT.gradient) / (1 - q) + SIMD4(-inverseRSX, 0, 1 / s - inverseRSX, 0)
        return (logBracket, logActive, wActive * activeGradient + wDropped * droppedGradient)
    }

    /// ln F(t) (see the header) and its gradient in (r, α, s, β), through the Euler-transformed
    /// ₂F₁(1, b; r+s+x+1; z).
    static func logF(_ r: Double, _ alpha: Double, _ s: Double, _ beta: Double, x: Double, t: Double)
        -> (value: Double, gradient: SIMD4<Double>)
    {
        let c = r + s + x + 1
        let logA = log(alpha + t), logB = log(beta + t)
        if alpha >= beta {
            let z = (alpha - beta) / (alpha + t)
            guard let g = Special.hypergeometricUnitA(r + x, c, z) else { return (.nan, SIMD4(repeating: .nan)) }
            return (-s * logB - (r + x) * logA + g.log,
                    SIMD4(-logA + g.dB + g.dC,
                          -(r + x) / (alpha + t) + g.dZ * (beta + t) / ((alpha + t) * (alpha + t)),
                          -logB + g.dC,
                          -s / (beta + t) - g.dZ / (alpha + t)))
        } else {
            let z = (beta - alpha) / (beta + t)
            guard let g = Special.hypergeometricUnitA(s + 1, c, z) else { return (.nan, SIMD4(repeating: .nan)) }
            return ((1 - r - x) * logA - (s + 1) * logB + g.log,
                    SIMD4(-logA + g.dC,
                          (1 - r - x) / (alpha + t) - g.dZ / (beta + t),
                          -logB + g.dB + g.dC,
                          -(s + 1) / (beta + t) + g.dZ * (alpha + t) / ((beta + t) * (beta + t))))
        }
    }
}

/// P(N = n) for N ~ Poisson(λ u) with λ ~ Gamma(shape, rate): the negative binomial
/// Γ(shape+n)/(Γ(shape) n!) · (rate/(rate+u))^shape · (u/(rate+u))ⁿ, in logs.
func negativeBinomialProbability(_ n: Int, shape: Double, rate: Double, exposure u: Double) -> Double {
    if u <= 0 { return n == 0 ? 1 : 0 }
    let k = Double(n)
    let logP = lgamma(shape + k) - lgamma(shape) - lgamma(k + 1)
        - shape * log1p(u / rate) + (k > 0 ? k * (log(u) - log(rate + u)) : 0)
    return exp(logP)
}

/// Calls `body(k, P(N = k))` for k = 0, 1, 2, … (N as in `negativeBinomialProbability`, u > 0)
/// by the recurrence P(k+1) = P(k) · (shape+k)/(k+1) · u/(rate+u), until `body` returns false.
/// While P(k) is below e⁻⁷⁰⁰ (a long wait before the mode when shape·ln(1 + u/rate) is large)
/// the recurrence runs in logs and gives 0; once past the mode, a P(k) that reaches 0 ends
/// the run.
func forEachNegativeBinomialProbability(shape: Double, rate: Double, exposure u: Double, _ body: (Int, Double) -> Bool) {
    let q = u / (rate + u), logQ = log(u) - log(rate + u)
    var logP = -shape * log1p(u / rate)
    var k = 0
    while logP < -700 {
        guard body(k, 0) else { return }
        logP += log((shape + Double(k)) / Double(k + 1)) + logQ
        k += 1
    }
    var p = exp(logP)
    while p > 0, body(k, p) {
        p *= (shape + Double(k)) / Double(k + 1) * q
        k += 1
    }
}

/// Adds weight · P(N = k) for k = 0 ..< values.count (`forEachNegativeBinomialProbability`).
func addNegativeBinomialProbabilities(into values: inout [Double], weight: Double, shape: Double, rate: Double, exposure u: Double) {
    values.withUnsafeMutableBufferPointer {
        addNegativeBinomialProbabilities(into: $0, weight: weight, shape: shape, rate: rate, exposure: u)
    }
}

/// The same into a buffer (a temporary one, for one customer's counts).
func addNegativeBinomialProbabilities(into values: UnsafeMutableBufferPointer<Double>, weight: Double, shape: Double, rate: Double,
                                      exposure u: Double) {
    guard !values.isEmpty else { return }
    guard u > 0 else {
        values[0] += weight
        return
    }
    forEachNegativeBinomialProbability(shape: shape, rate: rate, exposure: u) { k, p in
        guard k < values.count else { return false }
        if p > 0 { values[k] += weight * p }
        return true
    }
}

/// Composite Gauss–Legendre quadrature: 16 panels of 16 nodes, exact for polynomials of
/// degree 31 on each panel, which is far more than the smooth, bounded integrands here need.
enum GaussLegendre {
    static let panels = 16
    /// Nodes and weights of the 16-point rule on [−1, 1], found by Newton's method on the
    /// Legendre polynomial P₁₆ from Chebyshev starting points.
    static let rule: [(node: Double, weight: Double)] = {
        let m = 16
        var rule: [(Double, Double)] = []
        for i in 1...m {
            var x = cos(Double.pi * (Double(i) - 0.25) / (Double(m) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p0 = 1.0, p1 = x
                for k in 2...m {
                    let p2 = ((2 * Double(k) - 1) * x * p1 - (Double(k) - 1) * p0) / Double(k)
                    p0 = p1
                    p1 = p2
                }
                derivative = Double(m) * (x * p1 - p0) / (x * x - 1)
                let step = p1 / derivative
                x -= step
                if abs(step) < 1e-16 { break }
            }
            rule.append((x, 2 / ((1 - x * x) * derivative * derivative)))
        }
        return rule
    }()

    static func integrate(from lower: Double, to upper: Double, _ f: (Double) -> Double) -> Double {
        var total = 0.0
        forEachNode(from: lower, to: upper) { point, weight in total += weight * f(point) }
        return total
    }

    /// Each node of the rule on [lower, upper] with its weight (scaled to the panel's width).
    static func forEachNode(from lower: Double, to upper: Double, _ body: (_ point: Double, _ weight: Double) -> Void) {
        guard upper > lower else { return }
        let width = (upper - lower) / Double(panels)
        for panel in 0..<panels {
            let middle = lower + (Double(panel) + 0.5) * width
            for (node, weight) in rule {
                body(middle + node * width / 2, weight * width / 2)
            }
        }
    }
}
