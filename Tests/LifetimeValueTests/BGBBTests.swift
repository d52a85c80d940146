import Foundation
import Simulation
import Testing
@testable import LifetimeValue

@Suite struct BGBBTests {
    static func donations() throws -> PurchaseHistories {
        let table = try dataset("donations/donations.csv")
        return try PurchaseHistories(frequency: table["frequency"], recency: table["recency"], T: table["periods"], weights: table["weights"])
    }

    static func lifetimesModel() throws -> BGBB {
        let p = try lifetimesParameters("bgbb")
        return try BGBB(alpha: p["alpha"]!, beta: p["beta"]!, gamma: p["gamma"]!, delta: p["delta"]!)
    }

    @Test func bgbbReproducesPublishedDonationsEstimates() throws {
        let data = try Self.donations()
        #expect(data.customerCount == 11104)
        let (model, fit) = try BGBB.fit(data)
        // Fader, Hardie & Shang (2010): α = 1.204, β = 0.750, γ = 0.657, δ = 2.783.
        for (estimate, value) in zip(model.parameters, [1.204, 0.750, 0.657, 2.783]) {
            #expect(relativeDifference(estimate, value) < 1e-3, "\(estimate) vs \(value)")
        }
        #expect(fit.converged)
        for i in 0..<4 {
            #expect(fit.standardErrors[i] > 0 && fit.standardErrors[i] < fit.parameters[i])
        }
    }

    @Test func predictionsEqualLifetimesOnEveryDonationsGroup() throws {
        let model = try Self.lifetimesModel()
        let table = try fixture("donations_predictions.csv")
        let (x, tx, n) = (table["frequency"], table["recency"], table["periods"])
        #expect(x.count == 22)
        for i in x.indices {
            for m in [1, 5, 10] {
                let value = model.expectedPurchases(in: Double(m), frequency: x[i], recency: tx[i], T: n[i])
                #expect(relativeDifference(value, table["expected_\(m)"][i]) < 1e-6, "row \(i) m = \(m)")
            }
            for m in [0, 1, 5] {
                let value = model.pAlive(after: Double(m), frequency: x[i], recency: tx[i], T: n[i])
                #expect(relativeDifference(value, table["p_alive_\(m)"][i]) < 1e-6, "row \(i) m = \(m)")
            }
        }
    }

    /// lifetimes' `expected_number_of_transactions_in_first_n_periods(6)`: how many of the
    /// 11,104 donors the model expects to give x times in the first 6 opportunities (eq. 7).
    @Test func distributionOfTransactionsEqualsLifetimes() throws {
        let model = try Self.lifetimesModel()
        let expected = (try lifetimesFits()["bgbb"] as! [String: Any])["customers_with_x_in_first_6"] as! [String: Double]
        for (x, count) in expected {
            let p = model.probabilityOfPurchases(Int(x)!, in: 6, frequency: 0, recency: 0, T: 0)
            #expect(relativeDifference(11104 * p, count) < 1e-6, "x = \(x)")
        }
    }

    @Test func probabilitiesSumToOneAndToTheExpectation() throws {
        let model = try Self.lifetimesModel()
        for (x, tx, n) in [(0.0, 0.0, 6.0), (3, 5, 6), (6, 6, 6), (1, 1, 6), (20, 40, 50)] {
            let probabilities = (0...10).map { model.probabilityOfPurchases($0, in: 10, frequency: x, recency: tx, T: n) }
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-12)
            let mean = probabilities.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
            #expect(relativeDifference(mean, model.expectedPurchases(in: 10, frequency: x, recency: tx, T: n)) < 1e-12)
        }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let worst = worstGradientError(BGBB.Likelihood(data: try Self.donations()),
                                       at: [[1.2, 0.75, 0.66, 2.8], [0.05, 20, 5, 0.1], [30, 0.2, 0.01, 40]])
        #expect(worst.error < 1e-4, "\(worst.place)")
    }

    /// Long histories (up to 2,000 opportunities) and extreme parameters stay finite.
    @Test func extremeHistoriesStayFinite() throws {
        var random = SeededRandom(seed: 2010)
        for _ in 0..<500 {
            let params = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let model = try BGBB(alpha: params[0], beta: params[1], gamma: params[2], delta: params[3])
            let n = Double(Int.random(in: 1...2000, using: &random))
            let tx = Double(Int.random(in: 0...Int(n), using: &random))
            let x = tx == 0 ? 0 : Double(Int.random(in: 1...Int(tx), using: &random))
            let data = try PurchaseHistories(frequency: [x], recency: [tx], T: [n])
            let (value, gradient) = BGBB.Likelihood(data: data).logLikelihood(params)
            #expect(value.isFinite && gradient.allSatisfy(\.isFinite), "\(params) x=\(x) tx=\(tx) n=\(n)")
            let alive = model.pAlive(frequency: x, recency: tx, T: n)
            #expect(alive >= 0 && alive <= 1)
            let expected = model.expectedPurchases(in: 10, frequency: x, recency: tx, T: n)
            #expect(expected.isFinite && expected >= 0 && expected <= 10)
        }
    }

    /// Eq. 14 against the direct sum it stands for, Σₖ≥₁ (E[X(k)] − E[X(k−1)]) / (1+d)ᵏ with
    /// E[X(k)] the expected donations in the next k opportunities (equal to lifetimes' within
    /// 1e-6): the paper's convention, the first future opportunity discounted once. Every
    /// donations group, at 10% and 50% per opportunity, summed until (1+d)^−k < 10⁻¹⁷.
    @Test func dertEqualsTheDiscountedSumOverFutureOpportunities() throws {
        let model = try Self.lifetimesModel()
        let table = try fixture("donations_predictions.csv")
        let (x, tx, n) = (table["frequency"], table["recency"], table["periods"])
        for d in [0.1, 0.5] {
            let opportunities = Int((17 * log(10) / log1p(d)).rounded(.up))
            for i in x.indices {
                var sum = 0.0, previous = 0.0
                for k in 1...opportunities {
                    let cumulative = model.expectedPurchases(in: Double(k), frequency: x[i], recency: tx[i], T: n[i])
                    sum += (cumulative - previous) / pow(1 + d, Double(k))
                    previous = cumulative
                }
                let dert = try model.discountedExpectedResidualTransactions(discountRate: d, frequency: x[i], recency: tx[i], T: n[i])
                #expect(relativeDifference(dert, sum) < 1e-10, "row \(i), d = \(d): \(dert) vs \(sum)")
            }
        }
        #expect(throws: LifetimeValueError.self) { try model.discountedExpectedResidualTransactions(discountRate: 0, frequency: 1, recency: 1, T: 6) }
        // At 10⁻⁷ per opportunity the series would need some 10⁹ terms: refused, not truncated.
        #expect(throws: LifetimeValueError.self) { try model.discountedExpectedResidualTransactions(discountRate: 1e-7, frequency: 6, recency: 6, T: 6) }
    }

    /// At the least rate `predict` takes (0.00001 per opportunity: daily opportunities at 0.37%
    /// a year) DERT equals its direct sum to 1e-9: P(alive) · E[p] · Σₖ≥₁ E(1−θ)ᵏ / (1+d)ᵏ
    /// given alive at n, with E(1−θ)ᵏ = B(γ, δ+n+k)/B(γ, δ+n) by its ratio from one
    /// opportunity to the next, over six million opportunities.
    @Test func dertAtTheLeastRateEqualsItsDirectSum() throws {
        let model = try Self.lifetimesModel()
        for (x, tx, n) in [(0.0, 0.0, 6.0), (3, 5, 6), (6, 6, 6)] {
            for d in [1e-5, 1e-4] {
                var sum = 0.0, survival = 1.0, discount = 1.0, compensation = 0.0
                for k in 1...Int((60 / log1p(d)).rounded(.up)) {
                    survival *= (model.delta + n + Double(k - 1)) / (model.gamma + model.delta + n + Double(k - 1))
                    discount /= 1 + d
                    let term = survival * discount - compensation
                    let total = sum + term
                    compensation = (total - sum) - term
                    sum = total
                }
                let expected = model.pAlive(frequency: x, recency: tx, T: n) * (model.alpha + x) / (model.alpha + model.beta + n) * sum
                let dert = try model.discountedExpectedResidualTransactions(discountRate: d, frequency: x, recency: tx, T: n)
                #expect(relativeDifference(dert, expected) < 1e-9, "(\(x), \(tx), \(n)), d \(d): \(dert) vs \(expected)")
            }
        }
    }

    /// Long histories and extreme parameters, rates from 0.001 to 10 per opportunity: DERT is
    /// finite and below Σₖ (1+d)^−k = 1/d, one transaction at most per opportunity.
    @Test func dertStaysFiniteAndBelowOnePerOpportunity() throws {
        var random = SeededRandom(seed: 2014)
        for _ in 0..<300 {
            let params = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let model = try BGBB(alpha: params[0], beta: params[1], gamma: params[2], delta: params[3])
            let n = Double(Int.random(in: 1...2000, using: &random))
            let tx = Double(Int.random(in: 0...Int(n), using: &random))
            let x = tx == 0 ? 0 : Double(Int.random(in: 1...Int(tx), using: &random))
            let d = exp(Double.random(in: log(1e-3)...log(10), using: &random))
            let dert = try model.discountedExpectedResidualTransactions(discountRate: d, frequency: x, recency: tx, T: n)
            #expect(dert.isFinite && dert >= 0 && dert <= 1 / d, "\(params) x=\(x) tx=\(tx) n=\(n) d=\(d) → \(dert)")
        }
    }

    @Test func historiesThatAreNotDiscreteAreRefused() throws {
        let data = try PurchaseHistories(frequency: [3], recency: [2], T: [6])
        #expect(throws: LifetimeValueError.self) { try BGBB.fit(data) }
    }
}
