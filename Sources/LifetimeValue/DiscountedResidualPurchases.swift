#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Discounted expected residual transactions (DERT) in the BG/NBD family (BG/NBD and MBG/NBD):
/// every purchase a customer alive now still makes, over the whole remaining lifetime, each
/// discounted continuously at δ per unit of time, in the spirit of Fader, Hardie & Lee (2005),
/// "RFM and CLV", eq. 2, which gives it for the Pareto/NBD. No closed form is published for
/// these models; this is derived here and checked in the tests against the discounted sum of
/// the models' own conditional expectations.
///
/// Alive now, the customer buys at Poisson rate λ ~ Gamma(R, A) and drops out after each
/// purchase with probability p ~ Beta(a, B) (the posteriors: R = r+x, A = α+T, and B = b+x for
/// BG/NBD, b+x+1 for MBG/NBD). Given λ and p, purchase j comes at the j-th Poisson arrival Sⱼ,
/// with E e^(−δSⱼ) = (λ/(λ+δ))ʲ, and is made only if the customer survived the j−1 before it,
/// with probability (1−p)^(j−1):
///
///     Σⱼ (1−p)^(j−1) (λ/(λ+δ))ʲ = λ / (δ + pλ).
///
/// With μ = Aλ ~ Gamma(R, 1) and c = δA, the expectation over both is D = E[μ/(c + pμ)] =
/// R E[1/(c + W)] with W = pμ′, μ′ ~ Gamma(R+1, 1) (E[μ g(μ)] = R E[g(μ′)]), and DERT =
/// P(alive) · D. Integrating out λ leaves an incomplete gamma function (the Tricomi U of the
/// Pareto/NBD's DERT) under the beta integral, integrating out p leaves ₂F₁(1, a; a+B; −μ/c)
/// under the gamma integral: there is no closed form in named functions. D is evaluated
/// instead as a Mellin–Barnes integral. The Mellin transform of 1/(c+w) is c^(s−1) π/sin(πs)
/// (0 < Re s < 1) and the Mellin moments of W are
/// E W^(−s) = Γ(a−s) Γ(a+B) / (Γ(a) Γ(a+B−s)) · Γ(R+1−s) / Γ(R+1) (Re s < a), so by Parseval
///
///     D = R/(2πi) ∫ c^(s−1) π/sin(πs) E W^(−s) ds   over Re s = σ,  0 < σ < min(a, 1).
///
/// The integrand is analytic in a strip of half-width d about the line and falls like
/// e^(−3π|Im s|/2), so the trapezoidal rule in Im s with step h has error of order e^(−2πd/h);
/// h = d/6 puts it below 10⁻¹⁶, with about a hundred nodes.
///
/// Hazards and guards:
/// - The strip: σ sits halfway between the nearest poles (s = 0 and 1 of 1/sin, s = a of
///   Γ(a−s)). For a < ½ the line is moved right of s = a and that pole's residue,
///   R c^(a−1) Γ(1−a) Γ(a+B) Γ(R+1−a) / (Γ(B) Γ(R+1)), added back, so the strip is at least
///   ¼ wide for every a instead of closing as a → 0.
/// - Gamma functions in logs (complex ln Γ by Stirling's series), so heavy buyers do not
///   overflow.
/// - Cancellation: the integrand's size exceeds the result by at most about (E W / c)^(1−σ) or
///   (c / E W)^σ, which costs three or four digits only for c far outside 10⁻³…10³.
/// - Speed: only c^(s−1) depends on the customer's age; every other factor of each node is
///   computed once per frequency and reused for every age, so each (x, T) costs a hundred or so
///   complex multiply-adds (e^(iωₖ ln c) by rotation).
struct BetaGeometricResidualPurchases {
    let sigma: Double
    let step: Double
    /// R π/sin(πs) E W^(−s) at s = σ + i k h, without c^(s−1).
    let nodes: [Complex]
    /// ln of the residue at s = a without c^(a−1), or nil when the line lies left of a.
    let logResidue: Double?
    let a: Double

    init(shape R: Double, a: Double, b B: Double) {
        self.a = a
        let strip: Double
        if a >= 1 {
            (sigma, strip, logResidue) = (0.5, 0.5, nil)
        } else if a >= 0.5 {
            (sigma, strip, logResidue) = (a / 2, a / 2, nil)
        } else {
            (sigma, strip) = ((1 + a) / 2, (1 - a) / 2)
            logResidue = log(R) + lgamma(1 - a) + lgamma(a + B) - lgamma(B) + lgamma(R + 1 - a) - lgamma(R + 1)
        }
        step = strip / 6
        let constant = log(R) + log(Double.pi) + lgamma(a + B) - lgamma(a) - lgamma(R + 1)
        var nodes: [Complex] = []
        var largest = 0.0
        for k in 0..<4096 {
            let omega = Double(k) * step
            // ln sin(u + iv), u = πσ, v = πω: |sin|² = sin²u + sinh²v, arg = atan2(cos u sinh v, sin u cosh v).
            let (u, v) = (Double.pi * sigma, Double.pi * omega)
            let logSine = Complex(0.5 * log(sin(u) * sin(u) + sinh(v) * sinh(v)), atan2(cos(u) * sinh(v), sin(u) * cosh(v)))
            let s = Complex(sigma, omega)
            let logTerm = Complex(constant, 0) - logSine + Special.logGamma(Complex(a, 0) - s)
                - Special.logGamma(Complex(a + B, 0) - s) + Special.logGamma(Complex(R + 1, 0) - s)
            let term = logTerm.exponential
            nodes.append(term)
            largest = max(largest, term.magnitude)
            if term.magnitude < 1e-20 * largest { break }
        }
        self.nodes = nodes
    }

    /// D at c = δA.
    func value(discount c: Double) -> Double {
        let logC = log(c)
        let turn = Complex(cos(step * logC), sin(step * logC))
        var phase = turn
        var sum = 0.5 * nodes[0].re
        for term in nodes.dropFirst() {
            sum += term.re * phase.re - term.im * phase.im
            phase = phase * turn
        }
        var total = sum * step / Double.pi * exp((sigma - 1) * logC)
        if let logResidue { total += exp(logResidue + (a - 1) * logC) }
        return total
    }
}

/// D of `BetaGeometricResidualPurchases` for each (frequency, T) pair of a model of the BG/NBD
/// family, the table of nodes built once per distinct frequency. `survived` is the number of
/// dropout chances a live customer has passed beyond its x repeat purchases (0 for BG/NBD, 1 for
/// MBG/NBD, whose customers may also drop out at time 0).
func betaGeometricDiscountedResidualPurchases(r: Double, alpha: Double, a: Double, b: Double, survived: Double,
                                              continuousRate delta: Double, frequency: [Double], T: [Double]) -> [Double] {
    guard delta > 0, delta.isFinite else { return frequency.map { _ in .nan } }
    var tableOf: [Double: Int] = [:]
    var distinct: [Double] = []
    for x in frequency where tableOf[x] == nil {
        tableOf[x] = distinct.count
        distinct.append(x)
    }
    let tables = parallelMap(distinct.count) { k in
        BetaGeometricResidualPurchases(shape: r + distinct[k], a: a, b: b + distinct[k] + survived)
    }
    return parallelMap(frequency.count) { i in
        tables[tableOf[frequency[i]]!].value(discount: delta * (alpha + T[i]))
    }
}
