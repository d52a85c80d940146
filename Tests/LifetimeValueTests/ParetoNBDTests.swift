import Foundation
import Simulation
import Testing
@testable import LifetimeValue

@Suite struct ParetoNBDTests {
    @Test func paretoNBDReproducesPublishedCDNOWEstimates() throws {
        let (model, fit) = try ParetoNBD.fit(try cdnowHistories())
        // Fader, Hardie & Lee (2005): r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0.
        // lifetimes' more digits: r = 0.55329, α = 10.57801, s = 0.60618, β = 11.66663.
        for (estimate, value) in zip(model.parameters, [0.5533, 10.578, 0.6062, 11.667]) {
            #expect(relativeDifference(estimate, value) < 1e-3, "\(estimate) vs \(value)")
        }
        #expect(abs(fit.logLikelihood - -9595.0) < 0.05, "\(fit.logLikelihood)")
        #expect(fit.converged)
        // lifetimes gives no standard errors for this model (lifetimes#270); ours come from the Hessian.
        for i in 0..<4 {
            #expect(fit.standardErrors[i] > 0 && fit.standardErrors[i] < fit.parameters[i])
            #expect(fit.lowerBounds[i] < fit.parameters[i] && fit.parameters[i] < fit.upperBounds[i])
        }
    }

    @Test func predictionsEqualLifetimesOnEveryCDNOWCustomer() throws {
        let model = try lifetimesParetoNBD()
        let table = try fixture("cdnow_predictions.csv")
        let (x, tx, T) = (table["x"], table["t_x"], table["T"])
        var worstExpected = 0.0, worstAlive = 0.0
        for i in x.indices {
            worstExpected = max(worstExpected, relativeDifference(model.expectedPurchases(in: 39, frequency: x[i], recency: tx[i], T: T[i]), table["pnbd_expected_39"][i]))
            worstAlive = max(worstAlive, relativeDifference(model.pAlive(frequency: x[i], recency: tx[i], T: T[i]), table["pnbd_p_alive"][i]))
        }
        #expect(x.count == 2357)
        #expect(worstExpected < 1e-6)
        #expect(worstAlive < 1e-6)
        let expectations = try lifetimesNewCustomerExpectations("pnbd")
        for (t, expected) in expectations {
            #expect(relativeDifference(model.expectedPurchases(in: t), expected) < 1e-6, "t = \(t)")
        }
    }

    /// Note 028's closed form (eq. 16) as lifetimes evaluates it, against our quadrature.
    @Test func probabilityOfNPurchasesEqualsLifetimes() throws {
        let model = try lifetimesParetoNBD()
        let table = try fixture("cdnow_pnbd_probability_of_n.csv")
        var worst = 0.0
        for i in table["x"].indices {
            var total = 0.0
            for n in 0..<5 {
                let p = model.probabilityOfPurchases(n, in: 39, frequency: table["x"][i], recency: table["t_x"][i], T: table["T"][i])
                worst = max(worst, relativeDifference(p, table["p_\(n)"][i]))
                total += p
            }
            #expect(total <= 1 + 1e-12)
        }
        #expect(worst < 1e-6)
        // The probabilities of every count add up to one.
        let sum = (0..<400).reduce(0.0) { $0 + model.probabilityOfPurchases($1, in: 52, frequency: 12, recency: 30, T: 38) }
        #expect(abs(sum - 1) < 1e-9)
    }

    /// The negative binomial's recurrence against its closed form in lgamma, count by count,
    /// including runs that start below e⁻⁷⁰⁰ (thousands of purchases, long exposures) and so
    /// begin in logs. To 1e-10: lgamma near 10⁴ (about 8·10⁴) is itself good to about 1e-11
    /// absolute, which is that much relative in the closed form's value.
    @Test func negativeBinomialRecurrenceEqualsTheClosedForm() {
        for (shape, rate, u) in [(0.55, 49.6, 39.0), (12.6, 49.0, 52.0), (2000.6, 49.0, 100.0), (5000.5, 10.0, 3.0), (0.3, 2.0, 1e6)] {
            var values = [Double](repeating: 0, count: 6000)
            addNegativeBinomialProbabilities(into: &values, weight: 1, shape: shape, rate: rate, exposure: u)
            var worst = 0.0, total = 0.0
            for (k, value) in values.enumerated() {
                let expected = negativeBinomialProbability(k, shape: shape, rate: rate, exposure: u)
                total += value
                if expected > 1e-250 { worst = max(worst, relativeDifference(value, expected)) } else { #expect(value < 1e-240) }
            }
            #expect(worst < 1e-10, "shape \(shape), u \(u): \(worst)")
            if shape * u / rate < 3000 { #expect(abs(total - 1) < 1e-9, "shape \(shape), u \(u): Σ \(total)") }
        }
    }

    /// Every count's probability, taken by the recurrence at each node, against the same
    /// integral taken count by count with the closed form, for a heavy buyer whose counts
    /// start in logs at most nodes, and for 1,001 counts of an ordinary one.
    @Test func probabilitiesOfManyCountsEqualTheClosedFormIntegral() throws {
        let model = try lifetimesParetoNBD()
        for (x, tx, T, t, counts) in [(2000.0, 38.0, 39.0, 100.0, 5000), (2.0, 30.43, 38.86, 39.0, 1001)] {
            let together = model.probabilitiesOfPurchases(below: counts, in: t, frequency: x, recency: tx, T: T)
            let alive = model.pAlive(frequency: x, recency: tx, T: T)
            let shape = model.r + x, a = model.alpha + T, b = model.beta + T
            let survival = pow(b / (b + t), model.s)
            var worst = 0.0
            for n in stride(from: 0, to: counts, by: 7) {
                let leaves = GaussLegendre.integrate(from: 0, to: 1 - survival) { v in
                    negativeBinomialProbability(n, shape: shape, rate: a, exposure: b * expm1(-log1p(-v) / model.s))
                }
                let expected = alive * (negativeBinomialProbability(n, shape: shape, rate: a, exposure: t) * survival + leaves)
                    + (n == 0 ? 1 - alive : 0)
                if expected > 1e-250 { worst = max(worst, relativeDifference(together[n], expected)) }
            }
            #expect(worst < 1e-10, "x = \(x): \(worst)")
            #expect(abs(together.reduce(0, +) - 1) < 1e-9)
        }
    }

    @Test func futureAliveProbabilityFallsWithTime() throws {
        let model = try lifetimesParetoNBD()
        let now = model.pAlive(frequency: 3, recency: 20, T: 38)
        #expect(model.pAlive(after: 0, frequency: 3, recency: 20, T: 38) == now)
        let later = [10.0, 52, 520].map { model.pAlive(after: $0, frequency: 3, recency: 20, T: 38) }
        #expect(later[0] < now && later[1] < later[0] && later[2] < later[1] && later[2] > 0)
    }

    /// DERT's continued fraction against the integral it stands for, taken by quadrature over
    /// a range long enough for the discount to have wiped out the rest.
    @Test func discountedResidualTransactionsEqualTheirIntegral() throws {
        let model = try lifetimesParetoNBD()
        for (x, tx, T, delta) in [(2.0, 30.43, 38.86, 0.0027), (0, 0, 38.86, 0.01), (14, 35, 39, 0.05), (1, 1.71, 38.86, 0.3)] {
            let dert = try model.discountedExpectedResidualTransactions(continuousRate: delta, frequency: x, recency: tx, T: T)
            let b = model.beta + T, horizon = 60 / delta, slices = 4000
            let width = horizon / Double(slices)
            let integral = (0..<slices).reduce(0.0) { sum, k in
                sum + GaussLegendre.integrate(from: Double(k) * width, to: Double(k + 1) * width) { t in
                    pow(b / (b + t), model.s) * exp(-delta * t)
                }
            }
            let expected = model.pAlive(frequency: x, recency: tx, T: T) * (model.r + x) / (model.alpha + T) * integral
            #expect(relativeDifference(dert, expected) < 1e-9, "x = \(x), δ = \(delta): \(dert) vs \(expected)")
        }
        #expect(throws: LifetimeValueError.self) { try model.discountedExpectedResidualTransactions(continuousRate: 0, frequency: 1, recency: 1, T: 2) }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let likelihood = ParetoNBD.Likelihood(data: try cdnowHistories())
        // Both branches of the hypergeometric (α < β and α ≥ β) and far from the optimum.
        let worst = worstGradientError(likelihood, at: [[0.55, 10.6, 0.61, 11.7], [0.55, 12, 0.61, 3], [2.0, 0.5, 3.0, 0.2], [0.05, 80, 0.02, 9]])
        #expect(worst.error < 1e-4, "\(worst.place)")
    }

    /// lifetimes overflows beyond a few hundred purchases (lifetimes#25) and returns NaN in fits
    /// (#445); every value and gradient here must stay finite, with heavy buyers up to 5,000.
    @Test func extremeHistoriesStayFinite() throws {
        var random = SeededRandom(seed: 1987)
        for trial in 0..<2000 {
            let params = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let model = try ParetoNBD(r: params[0], alpha: params[1], s: params[2], beta: params[3])
            let T = Double.random(in: 0.1...1000, using: &random)
            let x = trial < 200 ? Double(1000 + trial * 20) : Double(Int.random(in: 0...5000, using: &random))
            let tx = x == 0 ? 0 : Double.random(in: 0...T, using: &random)
            let data = try PurchaseHistories(frequency: [x], recency: [tx], T: [T])
            let (value, gradient) = ParetoNBD.Likelihood(data: data).logLikelihood(params)
            #expect(value.isFinite && gradient.allSatisfy(\.isFinite), "\(params) x=\(x) tx=\(tx) T=\(T)")
            let alive = model.pAlive(frequency: x, recency: tx, T: T)
            #expect(alive >= 0 && alive <= 1, "\(params) x=\(x) tx=\(tx) T=\(T)")
            let expected = model.expectedPurchases(in: 52, frequency: x, recency: tx, T: T)
            #expect(expected.isFinite && expected >= 0, "\(params) x=\(x) tx=\(tx) T=\(T) → \(expected)")
        }
    }

    /// A heavy buyer's likelihood against direct quadrature of its integral form,
    /// L₂ = s ∫ₜₓᵀ (α+τ)^−(r+x) (β+τ)^−(s+1) dτ (times the shared factor), for 1,000+ purchases.
    @Test func heavyBuyersMatchTheIntegralForm() throws {
        for (params, x, tx, T) in [([0.55, 10.6, 0.61, 11.7], 1200.0, 30.0, 39.0), ([0.8, 3.0, 0.4, 40.0], 2500.0, 80.0, 100.0),
                                   ([0.8, 40.0, 0.4, 3.0], 1500.0, 5.0, 60.0)] {
            let (r, alpha, s, beta) = (params[0], params[1], params[2], params[3])
            let row = ParetoNBD.rowTerms(r, alpha, s, beta, x: x, tx: tx, T: T, gradient: false)
            // Scale the integrand by its value at tₓ so that the quadrature works on numbers near 1.
            let logPeak = -(r + x) * log(alpha + tx) - (s + 1) * log(beta + tx)
            // The integrand falls by e^−30 per unit of τ: 1,000 slices of 256 nodes each resolve it.
            let slices = 1000, width = (T - tx) / Double(slices)
            let integral = (0..<slices).reduce(0.0) { sum, k in
                sum + GaussLegendre.integrate(from: tx + Double(k) * width, to: tx + Double(k + 1) * width) { tau in
                    exp(-(r + x) * log(alpha + tau) - (s + 1) * log(beta + tau) - logPeak)
                }
            }
            let logDropped = log(s) + logPeak + log(integral)
            let logActive = -(r + x) * log(alpha + T) - s * log(beta + T)
            let expected = Special.logSumExp(logActive, logDropped)
            #expect(abs(row.logBracket - expected) < 1e-9 * abs(expected), "\(row.logBracket) vs \(expected)")
        }
    }
}

func lifetimesParetoNBD() throws -> ParetoNBD {
    let p = try lifetimesParameters("pnbd")
    return try ParetoNBD(r: p["r"]!, alpha: p["alpha"]!, s: p["s"]!, beta: p["beta"]!)
}
