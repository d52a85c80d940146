import Foundation
import Simulation
import Testing
@testable import LifetimeValue

/// Simulate 100,000 customers from known parameters, fit, and the truth must lie inside the
/// reported 95% intervals: the estimates are right and the standard errors are honest.
@Suite struct RecoveryTests {
    static func expectRecovered(_ fit: FitResult, _ truth: [Double], _ model: String) {
        #expect(fit.converged, "\(model)")
        for i in truth.indices {
            #expect(fit.lowerBounds[i] <= truth[i] && truth[i] <= fit.upperBounds[i],
                    "\(model) \(fit.parameterNames[i]): truth \(truth[i]) outside [\(fit.lowerBounds[i]), \(fit.upperBounds[i])]")
        }
    }

    @Test func bgnbdAndGammaGammaRecoverTheirParameters() throws {
        let truth = [0.25, 4.0, 0.8, 2.5]
        let data = SyntheticHistories(.bgnbd(r: truth[0], alpha: truth[1], a: truth[2], b: truth[3]),
                                      customers: 100_000, ages: 26...78, seed: 11)
        let (_, fit) = try BGNBD.fit(try PurchaseHistories(frequency: data.frequency, recency: data.recency, T: data.T))
        Self.expectRecovered(fit, truth, "BG/NBD")
        let spend = try GammaGamma.fit(frequency: data.frequency, monetaryValue: data.monetaryValue)
        Self.expectRecovered(spend.fit, [6.25, 3.74, 15.44], "Gamma-Gamma")
    }

    @Test func paretoNBDRecoversItsParameters() throws {
        let truth = [0.55, 10.6, 0.6, 11.7]
        let data = SyntheticHistories(.paretoNBD(r: truth[0], alpha: truth[1], s: truth[2], beta: truth[3]),
                                      customers: 100_000, ages: 26...78, seed: 12)
        let (_, fit) = try ParetoNBD.fit(try PurchaseHistories(frequency: data.frequency, recency: data.recency, T: data.T))
        Self.expectRecovered(fit, truth, "Pareto/NBD")
    }

    @Test func mbgnbdRecoversItsParameters() throws {
        let truth = [0.5, 6.0, 0.9, 1.6]
        let data = SyntheticHistories(.mbgnbd(r: truth[0], alpha: truth[1], a: truth[2], b: truth[3]),
                                      customers: 100_000, ages: 26...78, seed: 13)
        let (_, fit) = try MBGNBD.fit(try PurchaseHistories(frequency: data.frequency, recency: data.recency, T: data.T))
        Self.expectRecovered(fit, truth, "MBG/NBD")
    }

    @Test func bgbbRecoversItsParameters() throws {
        let truth = [1.2, 0.75, 0.66, 2.8]
        let data = SyntheticHistories(.bgbb(alpha: truth[0], beta: truth[1], gamma: truth[2], delta: truth[3]),
                                      customers: 100_000, ages: 6...6, seed: 14)
        let (_, fit) = try BGBB.fit(try PurchaseHistories(frequency: data.frequency, recency: data.recency, T: data.T))
        Self.expectRecovered(fit, truth, "BG/BB")
    }
}
