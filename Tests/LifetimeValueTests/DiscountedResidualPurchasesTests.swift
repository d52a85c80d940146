import Foundation
import Simulation
import Testing
@testable import LifetimeValue

/// DERT of BG/NBD and MBG/NBD: the Mellin–Barnes evaluation against mpmath, the whole DERT
/// against the discounted sum of each model's own conditional expectations, and stability over
/// the parameter space.
@Suite struct DiscountedResidualPurchasesTests {
    static func lifetimesModels() throws -> [(String, any PurchasePredicting)] {
        let g = try lifetimesParameters("bgnbd"), m = try lifetimesParameters("mbgnbd")
        return [("bgnbd", try BGNBD(r: g["r"]!, alpha: g["alpha"]!, a: g["a"]!, b: g["b"]!)),
                ("mbgnbd", try MBGNBD(r: m["r"]!, alpha: m["alpha"]!, a: m["a"]!, b: m["b"]!))]
    }

    /// E[μ/(c + pμ)] against mpmath's quadrature of a different integral (make_dert_references.py),
    /// from light to heavy buyers (R up to 5,000), a on both sides of ½ and 1, c from 10⁻⁴ to 10³.
    @Test func residualPurchasesEqualMpmathReferences() throws {
        let references = try dertReferences()
        #expect(references.count == 18)
        for reference in references {
            let value = BetaGeometricResidualPurchases(shape: reference.R, a: reference.a, b: reference.B).value(discount: reference.c)
            #expect(relativeDifference(value, reference.value) < 1e-9, "\(reference): \(value)")
        }
    }

    /// DERT against ∫ e^(−δt) dE[X(t)] with E[X(t)] the models' conditional expectations (equal
    /// to lifetimes' within 1e-6), for CDNOW customers from no repeat purchase to 29, at 1% a
    /// month in weeks and at faster rates.
    @Test func dertEqualsTheDiscountedConditionalExpectations() throws {
        for (name, model) in try Self.lifetimesModels() {
            for (x, tx, T) in [(2.0, 30.43, 38.86), (0, 0, 38.86), (1, 1.71, 38.86), (14, 35, 39), (29, 37.71, 38)] {
                for delta in [log(1.01) / 4.345, 0.01, 0.05, 0.3] {
                    let dert = try model.discountedExpectedResidualTransactions(continuousRate: delta, frequency: x, recency: tx, T: T)
                    let sum = discountedSumOfExpectedPurchases(model, continuousRate: delta, frequency: x, recency: tx, T: T)
                    #expect(relativeDifference(dert, sum) < 1e-10, "\(name) x = \(x), δ = \(delta): \(dert) vs \(sum)")
                }
            }
            #expect(throws: LifetimeValueError.self) {
                try model.discountedExpectedResidualTransactions(continuousRate: 0, frequency: 1, recency: 1, T: 2)
            }
        }
    }

    /// Batch scoring groups customers by frequency and age; it must give every CDNOW customer
    /// the DERT computed alone, for all four purchase models.
    @Test func batchScoringEqualsOneCustomerAtATime() throws {
        let table = try fixture("cdnow_predictions.csv")
        let (x, tx, T) = (table["x"], table["t_x"], table["T"])
        let models = try Self.lifetimesModels() + [("pnbd", try lifetimesParetoNBD() as any PurchasePredicting)]
        let delta = log(1.01) / 4.345
        for (name, model) in models {
            let scores = CustomerScores(purchases: model, spend: nil, monthLength: 4.345, horizon: 39, months: 1, discountRate: 0.01,
                                        residualRate: delta, frequency: x, recency: tx, T: T, monetaryValue: nil)
            #expect(scores.dert.count == 2357)
            for i in stride(from: 0, to: x.count, by: 7) {
                let alone = try model.discountedExpectedResidualTransactions(continuousRate: delta, frequency: x[i], recency: tx[i], T: T[i])
                #expect(relativeDifference(scores.dert[i], alone) < 1e-12, "\(name) customer \(i)")
            }
        }
    }

    /// Parameters from 10⁻³ to 10³, up to 5,000 purchases, rates from 10⁻⁴ to 10 per unit: D is
    /// finite and within its bounds E[λ]/δ (no dropout) and, for a > 1, E[1/p] (no discounting).
    @Test func residualPurchasesStayFiniteAndBounded() throws {
        var random = SeededRandom(seed: 2026)
        for trial in 0..<300 {
            let p = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let x = Double(Int.random(in: 0...5000, using: &random)), T = Double.random(in: 0.1...1000, using: &random)
            let delta = exp(Double.random(in: log(1e-4)...log(10), using: &random))
            let survived = Double(trial % 2)
            let (shape, b) = (p[0] + x, p[3] + x + survived)
            let c = delta * (p[1] + T)
            let value = BetaGeometricResidualPurchases(shape: shape, a: p[2], b: b).value(discount: c)
            let place = "r, α, a, b = \(p), x = \(x), T = \(T), δ = \(delta)"
            #expect(value.isFinite && value > 0, "\(place) → \(value)")
            #expect(value <= shape / c * (1 + 1e-9), "\(place) → \(value) above E[λ]/δ")
            if p[2] > 1 { #expect(value <= (p[2] + b - 1) / (p[2] - 1) * (1 + 1e-9), "\(place) → \(value) above E[1/p]") }
        }
    }
}
