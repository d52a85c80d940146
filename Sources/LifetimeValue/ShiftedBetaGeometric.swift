#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shifted-beta-geometric (sBG) model of contractual retention: Fader & Hardie (2007),
/// "How to project customer retention", Journal of Interactive Marketing 21(1), and for the
/// discounted lifetimes Fader & Hardie (2010), "Customer-base valuation in a contractual
/// setting: the perils of ignoring heterogeneity", Marketing Science 29(1).
///
/// At the end of each period a customer cancels with probability θ ~ Beta(α, β), so the
/// lifetime T (periods paid for) has (the 2007 paper's eqs. 5 and 6)
///
///     P(T = t) = B(α+1, β+t−1) / B(α, β),     S(t) = P(T > t) = B(α, β+t) / B(α, β),
///
/// and the retention rate of period t is r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1), rising
/// with t as the weaker customers leave. The fit takes the number of customers still active
/// after each period of a cohort: those lost in period t contribute ln P(T = t), those still
/// active at the end ln S(T).
///
/// Discounted expected residual lifetime (the 2010 paper's eq. 6): for a customer who has
/// made n renewals, with discount rate d per period,
///
///     DERL = Σₖ₌₀^∞ P(T > n+1+k | T > n) / (1+d)ᵏ = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)),
///
/// and the discounted expected lifetime of a new customer, DEL = ₂F₁(1, β; α+β; 1/(1+d)),
/// counting the first payment at once. Hazards: everything is in log-beta terms; the ₂F₁
/// series has positive terms shrinking by at least 1/(1+d) each.
public struct ShiftedBetaGeometric: Sendable, Equatable {
    public var alpha: Double
    public var beta: Double

    public static let parameterNames = ["alpha", "beta"]

    public init(alpha: Double, beta: Double) throws {
        guard [alpha, beta].allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LifetimeValueError.invalidParameters("sBG needs positive alpha and beta (got \(alpha), \(beta))")
        }
        (self.alpha, self.beta) = (alpha, beta)
    }

    public var parameters: [Double] { [alpha, beta] }

    /// Fits on a cohort's survivors: `active[t]` customers still active after period t, with
    /// `active[0]` the cohort's size. The counts must not increase.
    public static func fit(active: [Double], penalty: Double = 0) throws -> (model: ShiftedBetaGeometric, fit: FitResult) {
        let data = try Survivors(active: active)
        var optimiser = MaximumLikelihood()
        optimiser.penalty = penalty
        let result = try optimiser.fit(Likelihood(data: data), start: [1, 1])
        return (try ShiftedBetaGeometric(alpha: result.parameters[0], beta: result.parameters[1]), result)
    }

    /// S(t) = P(still active after t periods).
    public func survival(_ t: Double) -> Double {
        exp(Special.logBeta(alpha, beta + t) - Special.logBeta(alpha, beta))
    }

    /// r(t) = P(renews at the end of period t | active in period t) = (β+t−1)/(α+β+t−1), t ≥ 1.
    public func retentionRate(_ t: Double) -> Double {
        (beta + t - 1) / (alpha + beta + t - 1)
    }

    /// P(T = t): the probability of cancelling at the end of period t.
    public func churnProbability(_ t: Double) -> Double {
        exp(Special.logBeta(alpha + 1, beta + t - 1) - Special.logBeta(alpha, beta))
    }

    /// The expected number still active after each period 0...periods, of a cohort of `size`.
    public func projectedSurvivors(cohort size: Double, periods: Int) -> [Double] {
        (0...max(0, periods)).map { size * survival(Double($0)) }
    }

    /// DERL for a customer who has made `renewals` renewals (see the header).
    public func discountedExpectedResidualLifetime(discountRate d: Double, renewals n: Double) throws -> Double {
        guard d > 0 else { throw LifetimeValueError.invalidParameters("the discount rate must be positive (got \(d))") }
        guard let series = Special.hypergeometricUnitA(beta + n + 1, alpha + beta + n + 1, 1 / (1 + d)) else {
            throw LifetimeValueError.invalidParameters("the discount rate \(d) is too small for the series to converge")
        }
        return (beta + n) / (alpha + beta + n) * exp(series.log)
    }

    /// DEL: the discounted expected lifetime of a new customer, first payment included.
    public func discountedExpectedLifetime(discountRate d: Double) throws -> Double {
        guard d > 0 else { throw LifetimeValueError.invalidParameters("the discount rate must be positive (got \(d))") }
        guard let series = Special.hypergeometricUnitA(beta, alpha + beta, 1 / (1 + d)) else {
            throw LifetimeValueError.invalidParameters("the discount rate \(d) is too small for the series to converge")
        }
        return exp(series.log)
    }

    public func logLikelihood(active: [Double]) throws -> Double {
        Likelihood(data: try Survivors(active: active)).logLikelihood(parameters).value
    }

    /// A cohort's survivor counts, checked.
    struct Survivors {
        var lost: [Double]
        var remaining: Double
        var size: Double

        init(active: [Double]) throws {
            guard active.count >= 2 else {
                throw LifetimeValueError.invalidData("need the cohort size and at least one period's survivors (got \(active.count) values)")
            }
            for (t, value) in active.enumerated() {
                guard value >= 0, value.isFinite else {
                    throw LifetimeValueError.invalidData("period \(t): \(value) customers is not a count")
                }
                if t > 0, value > active[t - 1] {
                    throw LifetimeValueError.invalidData("period \(t): \(value) customers active after \(active[t - 1]) the period before; survivors cannot increase")
                }
            }
            guard active[0] > 0 else { throw LifetimeValueError.invalidData("the cohort is empty") }
            lost = (1..<active.count).map { active[$0 - 1] - active[$0] }
            remaining = active[active.count - 1]
            size = active[0]
        }
    }

    struct Likelihood: LikelihoodModel {
        let data: Survivors
        static var parameterNames: [String] { ShiftedBetaGeometric.parameterNames }
        var customerCount: Double { data.size }

        /// Σₜ lostₜ ln P(T = t) + remaining ln S(T), with digamma gradients of the log-betas.
        func logLikelihood(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            let (alpha, beta) = (p[0], p[1])
            let base = Special.logBeta(alpha, beta)
            let psiAB = Special.digamma(alpha + beta)
            let dBase = [Special.digamma(alpha) - psiAB, Special.digamma(beta) - psiAB]
            var value = 0.0, gradient = [0.0, 0.0]
            for (index, count) in data.lost.enumerated() where count > 0 {
                let t = Double(index + 1)
                let psi = Special.digamma(alpha + beta + t)
                value += count * (Special.logBeta(alpha + 1, beta + t - 1) - base)
                gradient[0] += count * (Special.digamma(alpha + 1) - psi - dBase[0])
                gradient[1] += count * (Special.digamma(beta + t - 1) - psi - dBase[1])
            }
            if data.remaining > 0 {
                let t = Double(data.lost.count)
                let psi = Special.digamma(alpha + beta + t)
                value += data.remaining * (Special.logBeta(alpha, beta + t) - base)
                gradient[0] += data.remaining * (Special.digamma(alpha) - psi - dBase[0])
                gradient[1] += data.remaining * (Special.digamma(beta + t) - psi - dBase[1])
            }
            return (value, gradient)
        }
    }
}
