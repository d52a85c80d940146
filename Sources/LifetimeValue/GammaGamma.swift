#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Gamma-Gamma model of spend per transaction: Fader, Hardie & Lee (2005), "The
/// Gamma-Gamma model of monetary value" (note), after Colombo & Jiang (1999).
///
/// Each transaction's value is Gamma(p, ν); ν ~ Gamma(q, γ) across customers. The mean z̄
/// of a customer's x repeat transactions then has the likelihood (the note's eq. 3)
///
///     f(z̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q (x z̄)^(px) z̄^(−1) / (γ + x z̄)^(px+q)
///
/// and the expected spend of a customer is p (γ + x z̄) / (px + q − 1) (eq. 5), which
/// needs px + q > 1. It is fitted on repeat buyers only (x > 0, z̄ > 0), and assumes spend is
/// independent of purchase frequency: `frequencySpendCorrelation` lets the analyst check.
/// Hazards: everything is in logs (`lgamma`), so large x or z̄ cannot overflow.
public struct GammaGamma: Sendable, Equatable {
    public var p: Double
    public var q: Double
    public var gamma: Double

    public static let parameterNames = ["p", "q", "gamma"]

    public init(p: Double, q: Double, gamma: Double) throws {
        guard [p, q, gamma].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("Gamma-Gamma needs positive p, q, gamma (got \(p), \(q), \(gamma))")
        }
        (self.p, self.q, self.gamma) = (p, q, gamma)
    }

    public var parameters: [Double] { [p, q, gamma] }

    /// Fits on the repeat buyers among `frequency` (x) and `monetaryValue` (z̄). Customers
    /// without repeats carry no spend information; repeat buyers whose mean spend is not
    /// positive (free orders, refunds) have no place in a gamma density and are left out too,
    /// counted in `leftOut` so that the caller can say so. `customers` is how many the fit
    /// used: the repeat buyers with positive spend, the count a model file records.
    public static func fit(frequency: [Double], monetaryValue: [Double], penalty: Double = 0) throws
        -> (model: GammaGamma, fit: FitResult, customers: Int, leftOut: Int)
    {
        let data = try SpendHistories(frequency: frequency, monetaryValue: monetaryValue)
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        // γ is in the currency's unit (p and q are not): starting it at the power of two
        // nearest the buyers' geometric mean spend (from the logs, which cannot overflow),
        // where lifetimes starts at 1, makes the search the same, step for step in logs,
        // whether amounts are in dollars, cents or dong (from 1, amounts in the millions
        // failed to converge).
        let scale = exp2((data.logZ.reduce(0, +) / Double(data.logZ.count) / M_LN2).rounded())
        let result = try optimiser.fit(Likelihood(data: data), start: [1, 1, scale], subsample: data.warmStart.map(Likelihood.init))
        let v = result.parameters
        return (try GammaGamma(p: v[0], q: v[1], gamma: v[2]), result, data.x.count, data.leftOut)
    }

    /// The expected mean spend per transaction of a customer with x repeat purchases of mean
    /// z̄; for x = 0, the population mean p γ / (q − 1). A mean that is not positive (refunds
    /// larger than the purchases, free orders) has no place in a gamma density, as in the fit:
    /// it is taken as 0, the limit of the posterior mean as z̄ falls to it, p γ / (px + q − 1),
    /// the lowest expectation the model gives, and never a negative spend.
    public func expectedSpend(frequency x: Double, monetaryValue z: Double) -> Double {
        p * (gamma + x * (z < 0 ? 0 : z)) / (p * x + q - 1)
    }

    /// Why the model has no finite expected spend for a customer with `x` repeat purchases,
    /// or nil when it has one: when p·x + q ≤ 1 the posterior of the spend's scale leaves its
    /// mean infinite (the formula above turns negative or divides by zero). It happens when
    /// the amounts are so heavy-tailed that the fit puts q at or below 1, where even the
    /// population's mean spend p γ / (q − 1) does not exist.
    public func infiniteSpendReason(frequency x: Double) -> String? {
        guard !hasFiniteSpend(frequency: x) else { return nil }
        return "the spend model's q = \(q) is too small for a customer with \(x.formatted0) repeat purchases (p·x + q = \(p * x + q) ≤ 1): "
            + "its expected spend is infinite, as the amounts are too heavy-tailed for Gamma-Gamma to have a mean; "
            + "leave out or cap the extreme amounts, or score without a spend model"
    }

    /// The first of `frequencies` for which the model has no finite expected spend, and why
    /// (`infiniteSpendReason`); nil when it has one for all of them.
    public func infiniteSpend(among frequencies: [Double]) -> (index: Int, reason: String)? {
        guard let index = frequencies.firstIndex(where: { !hasFiniteSpend(frequency: $0) }) else { return nil }
        return (index, infiniteSpendReason(frequency: frequencies[index])!)
    }

    /// p·x + q > 1 (false for NaN too).
    private func hasFiniteSpend(frequency x: Double) -> Bool { p * x + q - 1 > 0 }

    /// Pearson's correlation of frequency and mean spend among repeat buyers: the model
    /// assumes it is near zero.
    public static func frequencySpendCorrelation(frequency: [Double], monetaryValue: [Double]) -> Double {
        let pairs = zip(frequency, monetaryValue).filter { $0.0 > 0 && $0.1 > 0 }
        let n = Double(pairs.count)
        guard n > 1 else { return .nan }
        let mx = pairs.reduce(0) { $0 + $1.0 } / n, my = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (x, y) in pairs {
            sxy += (x - mx) * (y - my)
            sxx += (x - mx) * (x - mx)
            syy += (y - my) * (y - my)
        }
        return sxy / sqrt(sxx * syy)
    }

    struct SpendHistories {
        var x: [Double] = []
        var z: [Double] = []
        /// ln z̄ and ln(x z̄), which do not depend on the parameters.
        var logZ: [Double] = []
        var logXZ: [Double] = []
        var largestX = 0.0
        /// How many customers each row stands for: 1, or more in a subsample.
        var rowWeight = 1.0
        /// Repeat buyers left out for a mean spend that is not positive.
        var leftOut = 0
        init(frequency: [Double], monetaryValue: [Double]) throws {
            guard frequency.count == monetaryValue.count else {
                throw LifetimeValueError.invalidData("frequency and monetary value must have one value per customer")
            }
            for (i, (f, m)) in zip(frequency, monetaryValue).enumerated() where f > 0 {
                guard m.isFinite else {
                    throw LifetimeValueError.invalidData("customer \(i + 1) has monetary value \(m)")
                }
                guard m > 0 else {
                    leftOut += 1
                    continue
                }
                x.append(f)
                z.append(m)
                logZ.append(log(m))
                logXZ.append(log(f) + log(m))
            }
            largestX = x.max() ?? 0
            guard x.count >= 3 else {
                throw LifetimeValueError.invalidData("the Gamma-Gamma model needs repeat buyers; found \(x.count)")
            }
        }

        /// For many buyers, every k-th of them weighted up, whose fit starts the full fit.
        var warmStart: SpendHistories? {
            guard x.count > 50_000 else { return nil }
            let stride = x.count / 10_000
            var sample = self
            let picked = Swift.stride(from: 0, to: x.count, by: stride)
            sample.x = picked.map { x[$0] }
            sample.z = picked.map { z[$0] }
            sample.logZ = picked.map { logZ[$0] }
            sample.logXZ = picked.map { logXZ[$0] }
            sample.rowWeight = Double(x.count) / Double(sample.x.count)
            return sample
        }
    }

    struct Likelihood: LikelihoodModel {
        let data: SpendHistories
        static var parameterNames: [String] { GammaGamma.parameterNames }
        var customerCount: Double { Double(data.x.count) * data.rowWeight }

        /// Per customer: ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + px ln(x z̄) − ln z̄ − (px+q) ln(γ + x z̄),
        /// with the log-gammas and digammas tabulated per frequency, so a row costs one log.
        func logLikelihood(_ v: [Double]) -> (value: Double, gradient: [Double]) {
            let (p, q, g) = (v[0], v[1], v[2])
            let psiQ = Special.digamma(q), logG = log(g), logGammaQ = Special.logGamma(q)
            let perX = FrequencyTable(largest: data.largestX) { x -> SIMD4<Double> in
                let px = p * x
                return SIMD4(Special.logGamma(px + q) - Special.logGamma(px), Special.digamma(px + q), Special.digamma(px), 0)
            }
            let (value, gradient) = sumRows(count: data.x.count, parameters: 3) { i in
                let x = data.x[i], px = p * x
                let table = perX[x]
                let logDenominator = log(g + x * data.z[i])
                let ll = table[0] - logGammaQ + q * logG + px * data.logXZ[i] - data.logZ[i] - (px + q) * logDenominator
                return (ll, SIMD4(x * (table[1] - table[2] + data.logXZ[i] - logDenominator),
                                  table[1] - psiQ + logG - logDenominator,
                                  q / g - (px + q) / (g + x * data.z[i]), 0))
            }
            return (value * data.rowWeight, gradient.map { $0 * data.rowWeight })
        }

        /// The gradient and Hessian in closed form, with D = γ + x z̄: ∂²/∂p² = x²(ψ′(px+q) − ψ′(px)),
        /// ∂²/∂p∂q = x ψ′(px+q), ∂²/∂p∂γ = −x/D, ∂²/∂q² = ψ′(px+q) − ψ′(q),
        /// ∂²/∂q∂γ = 1/γ − 1/D and ∂²/∂γ² = −q/γ² + (px+q)/D².
        func secondDerivatives(_ v: [Double]) -> (gradient: [Double], hessian: [Double])? {
            let (p, q, g) = (v[0], v[1], v[2])
            let psiQ = Special.digamma(q), psi1Q = Special.trigamma(q), logG = log(g)
            let perX = FrequencyTable(largest: data.largestX) { x in
                SIMD4(Special.digamma(p * x + q), Special.digamma(p * x), Special.trigamma(p * x + q), Special.trigamma(p * x))
            }
            let (gradient, hessian) = sumRowsSecondOrder(count: data.x.count, parameters: 3) { i in
                let x = data.x[i], px = p * x
                let t = perX[x]
                let d = g + x * data.z[i], logD = log(d)
                let gradient = SIMD4(x * (t[0] - t[1] + data.logXZ[i] - logD), t[0] - psiQ + logG - logD, q / g - (px + q) / d, 0)
                let pq = x * t[2], pg = -x / d, qg = 1 / g - 1 / d
                let hessian = SIMD16<Double>(x * x * (t[2] - t[3]), pq, pg, 0,
                                             pq, t[2] - psi1Q, qg, 0,
                                             pg, qg, -q / (g * g) + (px + q) / (d * d), 0,
                                             0, 0, 0, 0)
                return (gradient, hessian)
            }
            return (gradient.map { $0 * data.rowWeight }, hessian.map { $0 * data.rowWeight })
        }
    }
}

private extension Double {
    /// A count as written: `3`, not `3.0`.
    var formatted0: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
