import Foundation
import Testing
@testable import LifetimeValue

@Suite struct ShiftedBetaGeometricTests {
    /// Fader & Hardie (2007), Table 1: customers still active after each year, of 1,000.
    static func segment(_ name: String) throws -> [Double] { try dataset("retention/fader_hardie_2007.csv")[name] }

    @Test func sbgReproducesPublishedEstimatesOnBothSegments() throws {
        // Years 0–7 are the calibration; the paper: regular α = 0.704, β = 1.182, LL = −1680.27;
        // high end α = 0.668, β = 3.806, LL = −1611.16.
        for (name, published, logLikelihood) in [("regular", [0.704, 1.182], -1680.27), ("high_end", [0.668, 3.806], -1611.16)] {
            let active = Array(try Self.segment(name).prefix(8))
            let (model, fit) = try ShiftedBetaGeometric.fit(active: active)
            for (estimate, value) in zip(model.parameters, published) {
                #expect(relativeDifference(estimate, value) < 1e-3, "\(name): \(estimate) vs \(value)")
            }
            #expect(abs(fit.logLikelihood - logLikelihood) < 0.005, "\(name): \(fit.logLikelihood)")
            #expect(fit.converged && fit.standardErrors.allSatisfy { $0 > 0 })
        }
    }

    /// The paper's point: a model of years 0–7 projects years 8–12 closely (its Figure 3),
    /// where the same fit without heterogeneity (one churn probability for all, a geometric
    /// lifetime) does not. Within 5% of every holdout year, and far closer than the geometric.
    @Test func projectionsTrackTheHoldoutYears() throws {
        for name in ["regular", "high_end"] {
            let actual = try Self.segment(name)
            let (model, _) = try ShiftedBetaGeometric.fit(active: Array(actual.prefix(8)))
            let projected = model.projectedSurvivors(cohort: 1000, periods: 12)
            // The geometric's maximum-likelihood churn: customers lost over customer-periods observed.
            let lost = (1...7).map { actual[$0 - 1] - actual[$0] }
            let exposure = lost.enumerated().reduce(0.0) { $0 + Double($1.offset + 1) * $1.element } + 7 * actual[7]
            let theta = lost.reduce(0, +) / exposure
            var sbgError = 0.0, geometricError = 0.0
            for year in 8...12 {
                #expect(abs(projected[year] - actual[year]) / actual[year] < 0.05, "\(name) year \(year): \(projected[year]) vs \(actual[year])")
                sbgError += abs(projected[year] - actual[year])
                geometricError += abs(1000 * pow(1 - theta, Double(year)) - actual[year])
            }
            #expect(sbgError * 4 < geometricError, "\(name): sBG \(sbgError) vs geometric \(geometricError)")
            // Retention rises with tenure, as the weaker customers leave first.
            let rates = (1...12).map { model.retentionRate(Double($0)) }
            #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 < $1 })
            #expect(abs(model.survival(3) / model.survival(2) - rates[2]) < 1e-12)
            #expect(abs(model.churnProbability(3) - (model.survival(2) - model.survival(3))) < 1e-12)
        }
    }

    /// DEL and DERL through the hypergeometric series against direct sums of discounted survival.
    @Test func discountedLifetimesEqualDirectSums() throws {
        let model = try ShiftedBetaGeometric(alpha: 0.668, beta: 3.806)
        for d in [0.1, 0.05, 0.25] {
            var del = 0.0
            for k in 0..<20_000 { del += model.survival(Double(k)) / pow(1 + d, Double(k)) }
            #expect(relativeDifference(try model.discountedExpectedLifetime(discountRate: d), del) < 1e-10)
            for n in [0.0, 1, 4, 10] {
                var derl = 0.0
                for k in 0..<20_000 { derl += model.survival(n + 1 + Double(k)) / model.survival(n) / pow(1 + d, Double(k)) }
                #expect(relativeDifference(try model.discountedExpectedResidualLifetime(discountRate: d, renewals: n), derl) < 1e-10)
            }
        }
        // Customers who have renewed more are worth more: the survivors are the loyal ones.
        let values = try [0.0, 1, 4, 10].map { try model.discountedExpectedResidualLifetime(discountRate: 0.1, renewals: $0) }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 < $1 })
    }

    /// At the least rate `predict` takes for a model counted in periods (0.00001 a period, daily
    /// renewals at 0.37% a year) DERL still equals its direct sum, taken over six million
    /// periods (until the discount alone is below e⁻⁶⁰), to 1e-9: the tail bound of the series
    /// stops neither early nor wrongly where its terms shrink by 1 − 10⁻⁵ each.
    @Test func residualLifetimeAtTheLeastRateEqualsItsDirectSum() throws {
        for (alpha, beta) in [(0.668, 3.806), (1.5, 0.9)] {
            let model = try ShiftedBetaGeometric(alpha: alpha, beta: beta)
            for d in [1e-5, 1e-4] {
                let periods = Int((60 / log1p(d)).rounded(.up))
                for n in [0.0, 10] {
                    var derl = 0.0, survival = 1.0, discount = 1.0, compensation = 0.0
                    for k in 0..<periods {
                        // P(survives renewal n + 1 + k | survived n), by the ratio of one period to the next.
                        survival *= (beta + n + Double(k)) / (alpha + beta + n + Double(k))
                        let term = survival * discount - compensation
                        let total = derl + term
                        compensation = (total - derl) - term
                        derl = total
                        discount /= 1 + d
                    }
                    let series = try model.discountedExpectedResidualLifetime(discountRate: d, renewals: n)
                    #expect(relativeDifference(series, derl) < 1e-9, "α \(alpha), d \(d), n \(n): \(series) vs \(derl)")
                }
            }
        }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let likelihood = ShiftedBetaGeometric.Likelihood(data: try .init(active: Array(try Self.segment("regular").prefix(8))))
        let worst = worstGradientError(likelihood, at: [[0.7, 1.2], [0.01, 50], [40, 0.05]])
        #expect(worst.error < 1e-5, "\(worst.place)")
    }

    @Test func survivorCountsThatAreNotACohortAreRefused() {
        #expect(throws: LifetimeValueError.self) { try ShiftedBetaGeometric.fit(active: [1000]) }
        #expect(throws: LifetimeValueError.self) { try ShiftedBetaGeometric.fit(active: [1000, 800, 850]) }
        #expect(throws: LifetimeValueError.self) { try ShiftedBetaGeometric.fit(active: [1000, -1]) }
        #expect(throws: LifetimeValueError.self) { try ShiftedBetaGeometric(alpha: 0.7, beta: 1.2).discountedExpectedLifetime(discountRate: 0) }
    }

    /// 10% lost after one period and everyone after two: the likelihood rises for ever as α
    /// and β grow. Where the search stops depends on the last bits of the BLAS's sums: with
    /// OpenBLAS's SkylakeX kernels it spends its budget of evaluations on line searches still
    /// climbing, with its generic ones the Hessian stops factoring on the way (and before the
    /// budget, it ran out of iterations). Either way it is no optimum, however small the
    /// gradient has become, and is refused as not converged.
    @Test func aSearchThatRunsOutOfIterationsHasNotConverged() {
        #expect {
            try ShiftedBetaGeometric.fit(active: [1000, 900, 0])
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("the fit did not converge: no maximum found in 1000 evaluations of the log-likelihood")
                || text.hasPrefix("the fit did not converge: after 500 iterations the gradient is ")
                || text.hasPrefix("the fit did not converge: the Hessian at the estimate is not positive definite")
        }
    }
}
