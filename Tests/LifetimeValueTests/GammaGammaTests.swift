import Testing
@testable import LifetimeValue

@Suite struct GammaGammaTests {
    @Test func gammaGammaReproducesPublishedCDNOWEstimates() throws {
        let table = try dataset("cdnow/cdnow_customers_summary_with_transactions.csv")
        let (model, fit, leftOut) = try GammaGamma.fit(frequency: table["x"], monetaryValue: table["zbar"])
        #expect(leftOut == 0)
        // Fader, Hardie & Lee (2005), the Gamma-Gamma note: p = 6.25, q = 3.74, γ = 15.44, given
        // to two decimals (γ truncated: the optimum is 15.4477), so within one unit of the last
        // digit; lifetimes' estimates, below, pin the optimum more tightly.
        for (estimate, published) in zip(model.parameters, [6.25, 3.74, 15.44]) {
            #expect(abs(estimate - published) <= 0.01, "\(estimate) vs \(published)")
        }
        #expect(fit.converged)
        let lifetimes = try lifetimesParameters("gamma_gamma")
        for (estimate, name) in zip(model.parameters, ["p", "q", "v"]) {
            #expect(relativeDifference(estimate, lifetimes[name]!) < 1e-4, "\(name): \(estimate) vs \(lifetimes[name]!)")
        }
        let correlation = GammaGamma.frequencySpendCorrelation(frequency: table["x"], monetaryValue: table["zbar"])
        #expect(abs(correlation) < 0.2, "CDNOW's frequency and spend are nearly uncorrelated: \(correlation)")
    }

    @Test func expectedSpendAndCLVEqualLifetimesOnEveryCDNOWCustomer() throws {
        let g = try lifetimesParameters("gamma_gamma")
        let spend = try GammaGamma(p: g["p"]!, q: g["q"]!, gamma: g["v"]!)
        let b = try lifetimesParameters("bgnbd")
        let purchases = try BGNBD(r: b["r"]!, alpha: b["alpha"]!, a: b["a"]!, b: b["b"]!)
        let clv = CustomerLifetimeValue(purchases: purchases, spend: spend, monthLength: CustomerLifetimeValue.monthLength(unit: "weeks")!)
        let table = try fixture("cdnow_predictions.csv")
        var worstSpend = 0.0, worstValue = 0.0
        for i in table["x"].indices {
            let (x, tx, T, z) = (table["x"][i], table["t_x"][i], table["T"][i], table["zbar"][i])
            worstSpend = max(worstSpend, relativeDifference(spend.expectedSpend(frequency: x, monetaryValue: z), table["gg_expected_spend"][i]))
            let value = clv.value(months: 12, discountRate: 0.01, frequency: x, recency: tx, T: T, monetaryValue: z)
            worstValue = max(worstValue, relativeDifference(value, table["clv_bgnbd_12m"][i]))
        }
        #expect(worstSpend < 1e-6)
        #expect(worstValue < 1e-6)
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let table = try dataset("cdnow/cdnow_customers_summary_with_transactions.csv")
        let likelihood = GammaGamma.Likelihood(data: try GammaGamma.SpendHistories(frequency: table["x"], monetaryValue: table["zbar"]))
        let worst = worstGradientError(likelihood, at: [[6.25, 3.74, 15.44], [0.5, 20, 1], [50, 1.5, 300]])
        #expect(worst.error < 1e-4, "\(worst.place)")
    }

    @Test func repeatBuyersWithoutSpendAreLeftOutAndCounted() throws {
        let table = try dataset("cdnow/cdnow_customers_summary_with_transactions.csv")
        let all = try GammaGamma.fit(frequency: table["x"], monetaryValue: table["zbar"])
        let withFreeOrders = try GammaGamma.fit(frequency: table["x"] + [3, 1], monetaryValue: table["zbar"] + [0, -2])
        #expect(withFreeOrders.leftOut == 2)
        #expect(withFreeOrders.model == all.model)
    }

    @Test func spendWithoutRepeatBuyersIsRefused() {
        #expect(throws: LifetimeValueError.invalidData("the Gamma-Gamma model needs repeat buyers; found 0")) {
            try GammaGamma.fit(frequency: [0, 0, 0], monetaryValue: [0, 0, 0])
        }
    }
}
