import Foundation
import Simulation
import Testing
@testable import LifetimeValue

@Suite struct MBGNBDTests {
    @Test func mbgnbdReproducesLifetimesCDNOWEstimates() throws {
        let (model, fit) = try MBGNBD.fit(try cdnowHistories())
        // Batislam et al.'s model as lifetimes fits it: r = 0.5248, α = 6.1830, a = 0.8914, b = 1.6140.
        for (estimate, value) in zip(model.parameters, [0.5248, 6.1830, 0.8914, 1.6140]) {
            #expect(relativeDifference(estimate, value) < 1e-3, "\(estimate) vs \(value)")
        }
        #expect(fit.converged)
    }

    @Test func predictionsEqualLifetimesOnEveryCDNOWCustomer() throws {
        let p = try lifetimesParameters("mbgnbd")
        let model = try MBGNBD(r: p["r"]!, alpha: p["alpha"]!, a: p["a"]!, b: p["b"]!)
        let table = try fixture("cdnow_predictions.csv")
        let (x, tx, T) = (table["x"], table["t_x"], table["T"])
        var worstExpected = 0.0, worstAlive = 0.0
        for i in x.indices {
            worstExpected = max(worstExpected, relativeDifference(model.expectedPurchases(in: 39, frequency: x[i], recency: tx[i], T: T[i]), table["mbgnbd_expected_39"][i]))
            worstAlive = max(worstAlive, relativeDifference(model.pAlive(frequency: x[i], recency: tx[i], T: T[i]), table["mbgnbd_p_alive"][i]))
        }
        #expect(worstExpected < 1e-6)
        #expect(worstAlive < 1e-6)
        // lifetimes: ModifiedBetaGeoFitter.expected_number_of_purchases_up_to_time(t) (lifetimes_fits.json)
        for (t, expected) in [(1.0, 0.05306062944706907), (39, 1.1822837952882774), (78, 1.8036361932919023)] {
            #expect(relativeDifference(model.expectedPurchases(in: t), expected) < 1e-6, "t = \(t)")
        }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let worst = worstGradientError(MBGNBD.Likelihood(data: try cdnowHistories()),
                                       at: [[0.52, 6.2, 0.89, 1.6], [2.0, 0.5, 3.0, 0.2], [0.01, 50, 0.05, 20]])
        #expect(worst.error < 1e-4, "\(worst.place)")
    }

    @Test func extremeHistoriesStayFinite() throws {
        var random = SeededRandom(seed: 2007)
        for _ in 0..<1000 {
            let params = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let model = try MBGNBD(r: params[0], alpha: params[1], a: params[2], b: params[3])
            let T = Double.random(in: 0.1...1000, using: &random)
            let x = Double(Int.random(in: 0...5000, using: &random))
            let tx = x == 0 ? 0 : Double.random(in: 0...T, using: &random)
            let (value, gradient) = MBGNBD.Likelihood(data: try PurchaseHistories(frequency: [x], recency: [tx], T: [T])).logLikelihood(params)
            #expect(value.isFinite && gradient.allSatisfy(\.isFinite), "\(params) x=\(x) tx=\(tx) T=\(T)")
            let alive = model.pAlive(frequency: x, recency: tx, T: T)
            #expect(alive >= 0 && alive <= 1)
            if params[2] > 1 {
                let expected = model.expectedPurchases(in: 52, frequency: x, recency: tx, T: T)
                #expect(expected.isFinite && expected >= 0, "\(params) x=\(x) tx=\(tx) T=\(T) → \(expected)")
            }
        }
    }
}
