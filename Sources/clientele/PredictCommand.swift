import Foundation
import ArgumentParser
import LifetimeValue
import Transactions

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score customers with a saved model: expected purchases, P(alive), spend and CLV.",
        discussion: """
            With a purchase model (bgnbd, mbgnbd, pareto-nbd, bgbb) writes customer_id, \
            expected_purchases (in the next --horizon, in the summary's unit; whole \
            opportunities for bgbb), p_alive (now) and p_alive_at_horizon; with \
            --purchase-probabilities N also p_purchases_0 … p_purchases_N, the probability of \
            exactly that many purchases within the horizon; with --spend-model also \
            expected_spend and clv: the discounted value over the horizon in monthly steps \
            (lifetimes' customer_lifetime_value; a month is 30 days, 4.345 weeks or 1 month, \
            and one opportunity for bgbb), discounted by --discount-rate a step.

            With an sbg model, the second argument is left out and the output is the \
            projection for periods 0 … --horizon: period, survival, retention_rate, \
            churn_probability, expected_active (of the fitted cohort's size) and, with \
            --discount-rate, derl: the discounted expected residual lifetime of a customer who \
            has renewed that many times.

            With --discount-rate, dert adds the discounted expected residual transactions: \
            every purchase still to come over the customer's whole remaining lifetime, \
            discounted continuously at ln(1 + rate) per month (per opportunity for bgbb, the \
            first future opportunity discounted once).

            Examples:
              clientele predict models/cdnow-bgnbd.json summary.csv --unit weeks --horizon 52 \\
                --spend-model models/cdnow-gamma-gamma.json --output predictions.csv
              clientele predict regular-sbg.json --horizon 12 --discount-rate 0.1 --output regular.csv
            """)

    @Argument(help: "The model file (from clientele fit).")
    var model: String

    @Argument(help: "The customer summary CSV to score (not for sbg).")
    var summary: String?

    @OptionGroup var unit: SummaryUnitOption

    @Option(parsing: .unconditional, help: "How far ahead, in the summary's unit (periods for bgbb and sbg).")
    var horizon: Double

    @Option(parsing: .unconditional, help: "The discount rate per month (per period for bgbb and sbg).")
    var discountRate: Double?

    @Option(help: "A gamma-gamma model file: adds expected_spend and clv.")
    var spendModel: String?

    @Option(parsing: .unconditional, help: "Add the probabilities of exactly 0 … N purchases within the horizon.")
    var purchaseProbabilities: Int?

    @Option(help: "Where to write the predictions CSV (written whole or not at all).")
    var output: String

    func validate() throws {
        guard horizon > 0, horizon.isFinite else { throw ValidationError("--horizon must be a positive number") }
        if let discountRate { guard discountRate > -1, discountRate.isFinite else { throw ValidationError("--discount-rate must be above -1") } }
        if let purchaseProbabilities { guard (0...1000).contains(purchaseProbabilities) else { throw ValidationError("--purchase-probabilities must be 0…1000") } }
    }

    func run() throws {
        try Report.begin(outputs: ["--output": output], inputs: [model, summary, spendModel])
        let modelFile = try ModelFile.decode(try readWholeFile(model), source: model)
        if modelFile.model == "sbg" {
            guard summary == nil else { throw CommandError("\(model) is an sbg retention model: it projects a cohort and scores no summary (leave out \(summary!))") }
            return try projectRetention(try CommandError.naming(model) { try modelFile.retentionModel() }, cohort: Double(modelFile.customers))
        }
        guard let summary else { throw CommandError("\(model) is a \(modelFile.model) model: give the customer summary to score") }
        guard modelFile.timeUnit == "periods" || modelFile.timeUnit == unit.value.rawValue else {
            throw CommandError("\(model) was fitted in \(modelFile.timeUnit) but the summary is in \(unit.value.rawValue) (--unit): rescale the summary or refit")
        }
        // Ten years, as a job's models.horizon; models fitted in periods (bgbb's opportunities)
        // take at most `longestPeriods`.
        if let unit = TimeUnit(rawValue: modelFile.timeUnit), horizon > unit.tenYears {
            throw ValidationError("--horizon must be at most ten years (\(Int(unit.tenYears)) \(unit.rawValue)), got \(horizon)")
        } else if modelFile.timeUnit == "periods", horizon > Self.longestPeriods {
            throw ValidationError("--horizon must be at most \(Int(Self.longestPeriods)) periods, got \(horizon)")
        }
        let purchases = try CommandError.naming(model) { try modelFile.purchaseModel() }
        // A month in the summary's unit; one opportunity for models fitted in periods.
        let monthLength = modelFile.timeUnit == "periods" ? 1 : CustomerLifetimeValue.monthLength(unit: unit.value.rawValue) ?? 1
        var spend: GammaGamma?
        if let spendModel {
            let file = try ModelFile.decode(try readWholeFile(spendModel), source: spendModel)
            spend = try CommandError.naming(spendModel) { try file.spendModel() }
        }
        // The rate is checked against the model before the summary is read.
        if discountRate != nil { try checkResidualRate("dert", perPeriod: modelFile.model == "bgbb") }
        let data = try CustomerSummary.read(path: summary, unit: unit.value)
        if modelFile.model == "bgbb" { try checkDiscrete(data) }
        if spend != nil, data.monetaryValue == nil {
            throw CommandError("\(summary) has no monetary_value column: CLV needs amounts")
        }
        var columns = ["customer_id", "expected_purchases", "p_alive", "p_alive_at_horizon"]
        let counts = purchaseProbabilities.map { Array(0...$0) } ?? []
        columns += counts.map { "p_purchases_\($0)" }
        if spend != nil { columns += ["expected_spend", "clv"] }
        // The discounted purchases still to come, over the whole remaining lifetime.
        if discountRate != nil { columns.append("dert") }
        let months = spend != nil ? max(1, Int((horizon / monthLength).rounded())) : 0
        let frequency = data.frequency.map(Double.init)
        if let spend, let (bad, reason) = spend.infiniteSpend(among: frequency) {
            throw CommandError("\(summary): customer \(data.customerIDs[bad]): \(reason)")
        }
        let scores = CustomerScores(purchases: purchases, spend: spend, monthLength: monthLength, horizon: horizon,
                                    months: months, discountRate: discountRate ?? 0.01,
                                    residualRate: discountRate.map { log1p($0) / monthLength }, frequency: frequency,
                                    recency: data.recency, T: data.T, monetaryValue: data.monetaryValue)
        // Parameters far outside what any fit gives (a file edited by hand: r = 1e10) can
        // defeat the series; a score that is not a number is refused, not written.
        for (name, column, file) in [("expected_purchases", scores.expectedPurchases, model), ("p_alive", scores.pAlive, model),
                                      ("p_alive_at_horizon", scores.pAliveAtHorizon, model),
                                      ("expected_spend", scores.expectedSpend, spendModel ?? model), ("clv", scores.clv, spendModel ?? model)] {
            if let bad = column.firstIndex(where: { !$0.isFinite }) {
                throw CommandError("\(summary): customer \(data.customerIDs[bad]): \(name) is \(column[bad]) under \(file)'s parameters; check the model file (a fit gives none such)")
            }
        }
        if let discountRate, let bad = scores.dert.firstIndex(where: { !$0.isFinite }) {
            throw CommandError("\(summary): customer \(data.customerIDs[bad]): dert is not finite at --discount-rate \(discountRate) (too small a rate for the series to converge)")
        }
        let scoredLine = "\(data.count) customers scored over \(horizon) \(modelFile.timeUnit)\(spend != nil ? " (CLV over \(months) steps)" : "") → \(output)"
        if counts.isEmpty {
            // The scores' columns rendered a chunk of customers at a time on both cores, and
            // written in order while the next chunks are rendered.
            var values: [[Double]?] = [scores.expectedPurchases, scores.pAlive, scores.pAliveAtHorizon]
            if spend != nil { values += [scores.expectedSpend, scores.clv] }
            if !scores.dert.isEmpty { values.append(scores.dert) }
            try writeFileAtomically(to: output) { emit in
                try emit(CSVWriter.header(columns))
                try renderInOrder(rows: data.count, render: { rows, bytes in
                    bytes = CSVWriter.numberRows(rows, ids: data.customerIDs, columns: values)
                }, consume: emit)
            }
            reportLine(scoredLine)
            return
        }
        // With purchase probabilities, written a block of customers at a time: with a thousand
        // counts a row is some 20 kB of text, and 10M customers' rows would not fit in memory
        // whole. The probabilities of each count are computed a block at a time on every core
        // (a thousand counts take about a millisecond a customer).
        let block = min(8192, max(64, 2_000_000 / columns.count))
        try writeFileAtomically(to: output) { emit in
            for start in stride(from: 0, to: data.count, by: block) {
                let customers = start..<min(data.count, start + block)
                var writer = CSVWriter(columns: columns, expectedRows: customers.count, header: start == 0)
                let probabilities = counts.isEmpty ? [] : Self.probabilitiesOfPurchases(
                    purchases, counts: counts.count, horizon: horizon, data, frequency, customers: customers)
                for i in customers {
                    var row = [scores.expectedPurchases[i], scores.pAlive[i], scores.pAliveAtHorizon[i]]
                    row += probabilities[(i - start) * counts.count..<(i - start + 1) * counts.count]
                    if spend != nil {
                        row.append(scores.expectedSpend[i])
                        row.append(scores.clv[i])
                    }
                    if !scores.dert.isEmpty { row.append(scores.dert[i]) }
                    writer.appendRow(data.customerIDs, i, row)
                }
                try emit(writer.bytes)
            }
        }
        reportLine(scoredLine)
    }

    /// P(0 … counts − 1 purchases) of each customer in the range, customer after customer.
    static func probabilitiesOfPurchases(_ model: any PurchasePredicting, counts: Int, horizon: Double, _ data: CustomerSummary,
                                         _ frequency: [Double], customers: Range<Int>) -> [Double] {
        let chunk = 16
        return [Double](unsafeUninitializedCapacity: customers.count * counts) { buffer, initialized in
            parallelFor((customers.count + chunk - 1) / chunk) { c in
                for i in (customers.lowerBound + c * chunk)..<min(customers.upperBound, customers.lowerBound + (c + 1) * chunk) {
                    let row = model.probabilitiesOfPurchases(below: counts, in: horizon, frequency: frequency[i],
                                                             recency: data.recency[i], T: data.T[i])
                    let start = (i - customers.lowerBound) * counts
                    for (k, p) in row.enumerated() { (buffer.baseAddress! + start + k).initialize(to: p) }
                }
            }
            initialized = customers.count * counts
        }
    }

    /// The longest horizon of a model counted in periods (BG/BB, sBG): a table row per period
    /// for sBG.
    static let longestPeriods = 10_000.0

    /// dert and derl sum a discounted series over the whole remaining lifetime: undiscounted
    /// it diverges whenever the model's heterogeneity allows lifetimes long enough (a ≤ 1, s ≤ 1,
    /// as on CDNOW), and at rates near 0 its sum is not accurate (Pareto/NBD's dert was 11%
    /// low at 10⁻⁹ per month, BG/BB and sBG trapped at 10⁻¹⁶). The least rate taken is 0.0001
    /// per month, and 0.00001 per period for BG/BB and sBG, whose periods may be days (0.37%
    /// a year): their series is summed term by term with a bound on its tail, equal to direct
    /// sums to 1e-9 there (tested), and refused where the terms run out.
    private func checkResidualRate(_ column: String, perPeriod: Bool) throws {
        let (least, stated) = perPeriod ? (1e-5, "0.00001 per period") : (1e-4, "0.0001 per month")
        guard let discountRate, discountRate < least else { return }
        throw ValidationError("--discount-rate \(discountRate): \(column) discounts purchases over the whole remaining lifetime and needs a rate of at least \(stated)")
    }

    /// BG/BB counts whole opportunities: a horizon between two is refused rather than cut to
    /// the one below, and so is a history no opportunity count can give (as the fit refuses
    /// it), naming the customer.
    private func checkDiscrete(_ data: CustomerSummary) throws {
        guard horizon.rounded() == horizon else {
            throw ValidationError("--horizon must be a whole number of periods for bgbb, got \(horizon)")
        }
        for i in 0..<data.count {
            let (x, tx, n) = (Double(data.frequency[i]), data.recency[i], data.T[i])
            guard tx.rounded() == tx, n.rounded() == n, x <= tx else {
                throw CommandError("\(summary!): customer \(data.customerIDs[i]): frequency \(Int(x)), recency \(tx), periods \(n) is not a discrete history (need whole numbers with frequency ≤ recency ≤ periods), which bgbb scores")
            }
            guard n <= BGBB.mostPeriods else {
                throw CommandError("\(summary!): customer \(data.customerIDs[i]): periods \(n): bgbb takes at most \(Int(BGBB.mostPeriods)) opportunities per customer")
            }
        }
    }

    private func projectRetention(_ model: ShiftedBetaGeometric, cohort: Double) throws {
        guard horizon.rounded() == horizon else {
            throw ValidationError("--horizon must be a whole number of periods for sbg, got \(horizon)")
        }
        // One row per period.
        guard horizon <= Self.longestPeriods else {
            throw ValidationError("--horizon must be at most \(Int(Self.longestPeriods)) periods for an sbg projection, got \(horizon)")
        }
        if discountRate != nil { try checkResidualRate("derl", perPeriod: true) }
        let periods = Int(horizon.rounded(.down))
        var text = "period,survival,retention_rate,churn_probability,expected_active" + (discountRate != nil ? ",derl" : "") + "\n"
        for t in 0...periods {
            let period = Double(t)
            var fields = [String(t), "\(model.survival(period))",
                          t == 0 ? "" : "\(model.retentionRate(period))", t == 0 ? "" : "\(model.churnProbability(period))",
                          "\(cohort * model.survival(period))"]
            if let discountRate { fields.append("\(try model.discountedExpectedResidualLifetime(discountRate: discountRate, renewals: period))") }
            text += fields.joined(separator: ",") + "\n"
        }
        try writeFileAtomically(Array(text.utf8), to: output)
        reportLine("sbg projection of a cohort of \(Int(cohort)) over \(periods) periods → \(output)")
    }
}
