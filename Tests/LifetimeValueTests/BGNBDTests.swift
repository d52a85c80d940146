import Foundation
import Simulation
import Testing
import Transactions
@testable import LifetimeValue

@Suite struct BGNBDTests {
    /// CDNOW in calendar months: from its usual start BG/NBD's search climbed the ridge
    /// a, b → ∞ to a local maximum (−68,695.07) and failed there on a Hessian that is not
    /// positive definite; lifetimes finds the maximum inside (−68,675.69). A fit that ends on
    /// the ridge starts again from a = 0.1 and keeps the higher. MBG/NBD's likelihood has no
    /// such second maximum here and must not move.
    @Test func theMonthlyCDNOWFitFindsTheMaximumInsideAsLifetimesDoes() throws {
        let log = try TransactionLogReader.read(path: repositoryRoot.appendingPathComponent("datasets/cdnow/CDNOW_master.txt").path,
                                                format: TransactionLogFormat(delimiter: .whitespace, customerColumn: ColumnReference("customer_id"),
                                                                             dateColumn: ColumnReference("date"), amountColumn: ColumnReference("dollar_value"),
                                                                             dateFormat: .compact))
        let summary = try CustomerSummary(log: log, options: SummaryOptions(
            period: .month, unit: .months, calibrationEnd: DateFormat.parseArgument("1997-12-31"), observationEnd: DateFormat.parseArgument("1998-06-30")))
        let data = try PurchaseHistories(summary)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/cdnow_monthly_fits.json"))
        let lifetimes = try JSONSerialization.jsonObject(with: bytes) as! [String: Any]
        #expect(lifetimes["customers"] as? Int == summary.count)
        let (bgnbd, fit) = try BGNBD.fit(data)
        let mbgnbd = try MBGNBD.fit(data).model
        for (name, parameters) in [("bgnbd", bgnbd.parameters), ("mbgnbd", mbgnbd.parameters)] {
            let expected = lifetimes[name] as! [String: Double]
            for (value, key) in zip(parameters, ["r", "alpha", "a", "b"]) {
                #expect(relativeDifference(value, expected[key]!) < 1e-4, "\(name) \(key): \(value) vs \(expected[key]!)")
            }
        }
        #expect(abs(fit.logLikelihood - -68675.686) < 0.01, "\(fit.logLikelihood)")
    }

    @Test func bgnbdReproducesPublishedCDNOWEstimates() throws {
        let (model, fit) = try BGNBD.fit(try cdnowHistories())
        // Fader, Hardie & Lee (2005): r = 0.2426, α = 4.4135, a = 0.7929, b = 2.4258, LL = −9582.4.
        let published = [0.2426, 4.4135, 0.7929, 2.4258]
        for (estimate, value) in zip(model.parameters, published) {
            #expect(relativeDifference(estimate, value) < 1e-3, "\(estimate) vs \(value)")
        }
        #expect(abs(fit.logLikelihood - -9582.4) < 0.05)
        #expect(fit.converged)
        for i in 0..<4 {
            #expect(fit.lowerBounds[i] < fit.parameters[i] && fit.parameters[i] < fit.upperBounds[i])
            #expect(fit.standardErrors[i] > 0 && fit.standardErrors[i] < fit.parameters[i])
        }
    }

    @Test func predictionsEqualLifetimesOnEveryCDNOWCustomer() throws {
        let p = try lifetimesParameters("bgnbd")
        let model = try BGNBD(r: p["r"]!, alpha: p["alpha"]!, a: p["a"]!, b: p["b"]!)
        let table = try fixture("cdnow_predictions.csv")
        let (x, tx, T) = (table["x"], table["t_x"], table["T"])
        var worstExpected = 0.0, worstAlive = 0.0
        for i in x.indices {
            worstExpected = max(worstExpected, relativeDifference(model.expectedPurchases(in: 39, frequency: x[i], recency: tx[i], T: T[i]), table["bgnbd_expected_39"][i]))
            worstAlive = max(worstAlive, relativeDifference(model.pAlive(frequency: x[i], recency: tx[i], T: T[i]), table["bgnbd_p_alive"][i]))
        }
        #expect(x.count == 2357)
        #expect(worstExpected < 1e-6)
        #expect(worstAlive < 1e-6)
    }

    /// `--penalty` is lifetimes' `penalizer_coef`: its penalty sees α (and Pareto/NBD's β) in
    /// time rescaled so that the longest T is 1, and Pareto/NBD's is on the summed, not the
    /// mean, log-likelihood; so the penalised estimates do not depend on the time unit either.
    @Test func penalisedFitsEqualLifetimesPenalizerCoef() throws {
        let data = try cdnowHistories()
        let fits: [(String, [Double], Double)] = [("bgnbd", try BGNBD.fit(data, penalty: 0.1).model.parameters, 1e-4),
                                                  ("mbgnbd", try MBGNBD.fit(data, penalty: 0.1).model.parameters, 1e-4),
                                                  ("pnbd", try ParetoNBD.fit(data, penalty: 0.1).model.parameters, 1e-3)]
        for (name, parameters, tolerance) in fits {
            let expected = (try lifetimesFits()[name] as! [String: Any])["params_penalizer_0.1"] as! [String: Double]
            let names = name == "pnbd" ? ["r", "alpha", "s", "beta"] : ["r", "alpha", "a", "b"]
            for (value, key) in zip(parameters, names) {
                #expect(relativeDifference(value, expected[key]!) < tolerance, "\(name) \(key): \(value) vs \(expected[key]!)")
            }
        }
        let inDays = try PurchaseHistories(frequency: (0..<data.distinctCount).map { data.frequency[$0] },
                                           recency: (0..<data.distinctCount).map { data.recency[$0] * 7 },
                                           T: (0..<data.distinctCount).map { data.T[$0] * 7 }, weights: (0..<data.distinctCount).map { data.weight[$0] })
        let weeks = try BGNBD.fit(data, penalty: 0.1).model, days = try BGNBD.fit(inDays, penalty: 0.1).model
        for (week, day, factor) in zip(zip(weeks.parameters, days.parameters), [1.0, 7, 1, 1]).map({ ($0.0, $0.1, $1) }) {
            #expect(relativeDifference(day, week * factor) < 1e-5, "\(day) vs \(week) × \(factor)")
        }
    }

    /// The closed-form Hessian that gives the standard errors matches differences of the
    /// analytic gradient on CDNOW, at the estimate and far from it.
    @Test func hessianMatchesDifferencesOfTheGradient() throws {
        let likelihood = BGNBD.Likelihood(data: try cdnowHistories())
        let points = [[0.2426, 4.4135, 0.7929, 2.4258], [2.0, 0.5, 3.0, 0.2], [0.01, 50, 0.05, 20]]
        let worst = try worstHessianError(likelihood, at: points)
        #expect(worst.error <= 1e-6, "\(worst.place)")
        // The fit's curvature on the log scale, with the penalty, as differences give it.
        #expect(try worstLogScaleHessianError(likelihood, at: points) <= 1e-5)
    }

    /// ψ′ against its closed forms: π²/6 at 1, π²/2 at ½, π² + 8G at ¼ (G Catalan's constant),
    /// the recurrence ψ′(x) = ψ′(x + 1) + 1/x² across the switch to the series, π²/6 less the
    /// first n − 1 inverse squares at whole n above the switch, and 1/x + 1/(2x²) + 1/(6x³) far
    /// out.
    @Test func trigammaMatchesItsClosedForms() {
        let catalan = 0.915_965_594_177_219_015_054_603_514_932_384_110_774
        #expect(relativeDifference(Special.trigamma(1), Double.pi * Double.pi / 6) < 1e-14)
        #expect(relativeDifference(Special.trigamma(0.5), Double.pi * Double.pi / 2) < 1e-14)
        #expect(relativeDifference(Special.trigamma(0.25), Double.pi * Double.pi + 8 * catalan) < 1e-14)
        for x in [0.001, 0.3, 2.5, 9.5, 9.99, 10, 10.5, 37.25] {
            #expect(relativeDifference(Special.trigamma(x), Special.trigamma(x + 1) + 1 / (x * x)) < 1e-14, "x = \(x)")
        }
        #expect(relativeDifference(Special.trigamma(1e6), 1e-6 + 0.5e-12 + 1e-18 / 6) < 1e-15)
        // Above the switch, where the series alone answers: ψ′(n) = π²/6 − Σₖ₌₁ⁿ⁻¹ 1/k².
        for n in [12, 20, 57] {
            let closedForm = (1..<n).reversed().reduce(Double.pi * Double.pi / 6) { $0 - 1 / Double($1 * $1) }
            #expect(relativeDifference(Special.trigamma(Double(n)), closedForm) < 1e-13, "n = \(n)")
        }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let likelihood = BGNBD.Likelihood(data: try cdnowHistories())
        let worst = worstGradientError(likelihood, at: [[0.24, 4.4, 0.79, 2.4], [2.0, 0.5, 3.0, 0.2], [0.01, 50, 0.05, 20]])
        #expect(worst.error < 1e-4, "\(worst.place)")
    }

    /// The published closed form overflows for heavy buyers; the log-space one must not.
    @Test func extremeHistoriesStayFinite() throws {
        var random = SeededRandom(seed: 2005)
        for _ in 0..<2000 {
            let params = (0..<4).map { _ in exp(Double.random(in: log(1e-3)...log(1e3), using: &random)) }
            let model = try BGNBD(r: params[0], alpha: params[1], a: params[2], b: params[3])
            let T = Double.random(in: 0.1...1000, using: &random)
            let x = Double(Int.random(in: 0...5000, using: &random))
            let tx = x == 0 ? 0 : Double.random(in: 0...T, using: &random)
            let data = try PurchaseHistories(frequency: [x], recency: [tx], T: [T])
            let (value, gradient) = BGNBD.Likelihood(data: data).logLikelihood(params)
            #expect(value.isFinite && gradient.allSatisfy(\.isFinite), "\(params) x=\(x) tx=\(tx) T=\(T)")
            let alive = model.pAlive(frequency: x, recency: tx, T: T)
            #expect(alive >= 0 && alive <= 1)
            if params[2] > 1 {
                let expected = model.expectedPurchases(in: 52, frequency: x, recency: tx, T: T)
                #expect(expected.isFinite && expected >= 0, "\(params) x=\(x) tx=\(tx) T=\(T) → \(expected)")
            }
        }
    }

    @Test func newCustomerExpectationsEqualLifetimes() throws {
        let p = try lifetimesParameters("bgnbd")
        let model = try BGNBD(r: p["r"]!, alpha: p["alpha"]!, a: p["a"]!, b: p["b"]!)
        // lifetimes: BetaGeoFitter.expected_number_of_purchases_up_to_time(t) (lifetimes_fits.json)
        for (t, expected) in [(1.0, 0.05318473689563137), (10, 0.4317609895226626), (39, 1.1950162284461952), (78, 1.8579717035277383)] {
            #expect(relativeDifference(model.expectedPurchases(in: t), expected) < 1e-6, "t = \(t)")
        }
    }
}
