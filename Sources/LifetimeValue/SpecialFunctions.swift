#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The special functions the likelihoods need, evaluated in log space where they overflow.
enum Special {
    /// ln Γ(x) for x > 0.
    @inline(__always)
    static func logGamma(_ x: Double) -> Double { lgamma(x) }

    /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
    @inline(__always)
    static func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }

    /// The digamma function ψ(x) = d ln Γ(x) / dx for x > 0.
    ///
    /// The recurrence ψ(x) = ψ(x + 1) − 1/x lifts x above 6, where the asymptotic series
    /// ψ(x) ~ ln x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ) (Abramowitz & Stegun 6.3.18) is accurate to
    /// double precision with five terms.
    static func digamma(_ value: Double) -> Double {
        var x = value
        var shift = 0.0
        while x < 6 {
            shift -= 1 / x
            x += 1
        }
        let inverse = 1 / x
        let inverse2 = inverse * inverse
        let series = inverse2 * (1.0 / 12 - inverse2 * (1.0 / 120 - inverse2 * (1.0 / 252 - inverse2 * (1.0 / 240 - inverse2 * (1.0 / 132)))))
        return shift + log(x) - 0.5 * inverse - series
    }

    /// The trigamma function ψ′(x) = d² ln Γ(x) / dx² for x > 0.
    ///
    /// The recurrence ψ′(x) = ψ′(x + 1) + 1/x² lifts x above 10, where the asymptotic series
    /// ψ′(x) ~ 1/x + 1/(2x²) + Σ B₂ₖ / x²ᵏ⁺¹ (Abramowitz & Stegun 6.4.12) with terms to x⁻¹⁵ is
    /// accurate to double precision (the next, 3617/(510 x¹⁷), is below 10⁻¹⁵ of the result).
    static func trigamma(_ value: Double) -> Double {
        var x = value
        var shift = 0.0
        while x < 10 {
            shift += 1 / (x * x)
            x += 1
        }
        let inverse = 1 / x
        let inverse2 = inverse * inverse
        let series = inverse * inverse2 * (1.0 / 6 - inverse2 * (1.0 / 30 - inverse2 * (1.0 / 42 - inverse2 * (1.0 / 30
            - inverse2 * (5.0 / 66 - inverse2 * (691.0 / 2730 - inverse2 * (7.0 / 6)))))))
        return shift + inverse + 0.5 * inverse2 + series
    }

    /// ln Γ(z) for complex z off the poles, up to a multiple of 2πi in the imaginary part
    /// (callers exponentiate). Stirling's series
    /// ln Γ(w) = (w − ½) ln w − w + ½ ln 2π + Σₖ B₂ₖ / (2k(2k−1) w²ᵏ⁻¹), seven terms, is accurate to
    /// double precision once Re w ≥ 10; smaller arguments are shifted up by the recurrence
    /// Γ(z) = Γ(z+n) / (z(z+1)…(z+n−1)), the product kept as one complex number and logged once.
    static func logGamma(_ z: Complex) -> Complex {
        var w = z
        var product = Complex(1, 0)
        while w.re < 10 {
            product = product * w
            w.re += 1
        }
        let inverse = Complex(1, 0) / w
        let inverse2 = inverse * inverse
        let coefficients = [1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360_360, 1.0 / 156]
        var series = Complex(0, 0)
        for coefficient in coefficients.reversed() {
            series = series * inverse2 + Complex(coefficient, 0)
        }
        let stirling = (w - Complex(0.5, 0)) * w.logarithm - w + Complex(0.5 * log(2 * Double.pi), 0) + series * inverse
        return stirling - product.logarithm
    }

    /// ln(eᵃ + eᵇ) without overflow.
    @inline(__always)
    static func logSumExp(_ a: Double, _ b: Double) -> Double {
        let m = max(a, b)
        if m == -.infinity { return -.infinity }
        return m + log(exp(a - m) + exp(b - m))
    }

    /// ln(eᵃ + eᵇ) = max(a, b) + ln(1 + e), e = e^−|a−b| (one exp; the caller takes the
    /// log1p where it needs the value), with the weights eᵃ/(eᵃ + eᵇ) and eᵇ/(eᵃ + eᵇ) that its
    /// derivatives carry.
    @inline(__always)
    static func logSumExpTerms(_ a: Double, _ b: Double) -> (e: Double, weightA: Double, weightB: Double) {
        let e = exp(-abs(a - b))
        let (larger, smaller) = (1 / (1 + e), e / (1 + e))
        return a >= b ? (e, larger, smaller) : (e, smaller, larger)
    }

    /// ln |₂F₁(a, b; c; z)| and its sign, for 0 ≤ z < 1, by the power series
    /// Σ (a)ₖ (b)ₖ / ((c)ₖ k!) zᵏ. The running sum is rescaled whenever it passes 2¹⁰⁰⁰ and the
    /// scale kept as a logarithm, so terms that grow huge before they shrink (large a and b
    /// against c) do not overflow. Returns nil when the series has not converged to double
    /// precision after `maximumTerms`.
    static func logHypergeometric2F1(_ a: Double, _ b: Double, _ c: Double, _ z: Double,
                                     maximumTerms: Int = 1_000_000) -> (log: Double, sign: Double)? {
        precondition(z >= 0 && z < 1, "the series needs 0 ≤ z < 1")
        var term = 1.0
        var sum = 1.0
        var logScale = 0.0
        var k = 0.0
        let big = 0x1p1000
        for _ in 0..<maximumTerms {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
            sum += term
            if abs(term) <= 1e-17 * abs(sum) {
                return sum == 0 ? (-.infinity, 1) : (log(abs(sum)) + logScale, sum < 0 ? -1 : 1)
            }
            if abs(sum) > big || abs(term) > big {
                sum /= big
                term /= big
                logScale += 1000 * M_LN2
            }
            k += 1
        }
        return nil
    }

    /// ₂F₁(1, b; c; z) = Σₙ (b)ₙ/(c)ₙ zⁿ for c > b > 0 and 0 ≤ z < 1, with the derivatives
    /// of its logarithm in b, c and z, summed in one pass.
    ///
    /// Every term is positive and each is at most z times the one before, so the sum neither
    /// overflows nor cancels; the remainder after term tₙ is below tₙ z/(1 − z), which is the
    /// stopping rule. The derivatives come from ∂ ln tₙ/∂b = Σₖ<ₙ 1/(b+k),
    /// ∂ ln tₙ/∂c = −Σₖ<ₙ 1/(c+k) and ∂ tₙ/∂z = n tₙ/z. Pareto/NBD's likelihood and the sBG
    /// model's discounted residual lifetime are both of this form once Euler's transformation
    /// has been applied. Returns nil if `maximumTerms` do not reach double precision (z within
    /// about 10⁻⁵ of 1), and outside b, c > 0, 0 ≤ z < 1: a search's trial parameters can
    /// round z to 1 (Pareto/NBD with β below α's rounding and T about 1e-30 trapped here).
    static func hypergeometricUnitA(_ b: Double, _ c: Double, _ z: Double, maximumTerms: Int = 4_000_000)
        -> (log: Double, dB: Double, dC: Double, dZ: Double)?
    {
        guard z >= 0, z < 1, c > 0, b > 0, b.isFinite, c.isFinite else { return nil }
        var term = 1.0, sum = 1.0
        var harmonicB = 0.0, harmonicC = 0.0
        var sumB = 0.0, sumC = 0.0, sumN = 0.0
        let tailFactor = z / (1 - z)
        var k = 0.0
        for _ in 0..<maximumTerms {
            if term * tailFactor <= 1e-17 * sum {
                let dZ = z > 0 ? sumN / (z * sum) : b / c
                return (log(sum), sumB / sum, -sumC / sum, dZ)
            }
            harmonicB += 1 / (b + k)
            harmonicC += 1 / (c + k)
            term *= (b + k) / (c + k) * z
            k += 1
            sum += term
            sumB += term * harmonicB
            sumC += term * harmonicC
            sumN += term * k
        }
        return nil
    }
}

/// A complex number, with only the arithmetic the Mellin–Barnes integrals need.
struct Complex: Equatable {
    var re: Double
    var im: Double

    init(_ re: Double, _ im: Double) { (self.re, self.im) = (re, im) }

    static func + (l: Complex, r: Complex) -> Complex { Complex(l.re + r.re, l.im + r.im) }
    static func - (l: Complex, r: Complex) -> Complex { Complex(l.re - r.re, l.im - r.im) }
    static func * (l: Complex, r: Complex) -> Complex { Complex(l.re * r.re - l.im * r.im, l.re * r.im + l.im * r.re) }
    static func / (l: Complex, r: Complex) -> Complex {
        let scale = max(abs(r.re), abs(r.im))
        let (re, im) = (r.re / scale, r.im / scale)
        let d = re * re + im * im
        return Complex((l.re * re + l.im * im) / d / scale, (l.im * re - l.re * im) / d / scale)
    }

    /// The principal logarithm.
    var logarithm: Complex { Complex(log(hypot(re, im)), atan2(im, re)) }
    var exponential: Complex {
        let m = exp(re)
        return Complex(m * cos(im), m * sin(im))
    }
    var magnitude: Double { hypot(re, im) }
}
