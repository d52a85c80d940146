import ArgumentParser
import LifetimeValue
import Transactions

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score customers with a saved model: expected purchases, P(alive), spend and CLV.",
        discussion: """
            Writes customer_id, expected_purchases (in the next --horizon, in the summary's \
            unit) and p_alive; with --spend-model also expected_spend and clv: the discounted \
            value over the horizon in monthly steps (lifetimes' customer_lifetime_value; a \
            month is 30 days, 4.345 weeks or 1 month), discounted by --discount-rate a month.

            Example:
              clientele predict models/cdnow-bgnbd.json summary.csv --unit weeks --horizon 52 \\
                --spend-model models/cdnow-gamma-gamma.json --output predictions.csv
            """)

    @Argument(help: "The purchase model file (from clientele fit).")
    var model: String

    @Argument(help: "The customer summary CSV to score.")
    var summary: String

    @OptionGroup var unit: SummaryUnitOption

    @Option(help: "How far ahead, in the summary's unit.")
    var horizon: Double

    @Option(help: "The discount rate per month for CLV.")
    var discountRate = 0.01

    @Option(help: "A gamma-gamma model file: adds expected_spend and clv.")
    var spendModel: String?

    @Option(help: "Where to write the predictions CSV (written whole or not at all).")
    var output: String

    func validate() throws {
        guard horizon > 0, horizon.isFinite else { throw ValidationError("--horizon must be a positive number") }
        guard discountRate > -1, discountRate.isFinite else { throw ValidationError("--discount-rate must be above -1") }
    }

    func run() throws {
        let purchaseFile = try ModelFile.decode(try readWholeFile(model), source: model)
        guard purchaseFile.timeUnit == unit.value.rawValue else {
            throw CommandError("\(model) was fitted in \(purchaseFile.timeUnit) but the summary is in \(unit.value.rawValue) (--unit): rescale the summary or refit")
        }
        let purchases = try purchaseFile.purchaseModel()
        var clv: CustomerLifetimeValue?
        if let spendModel {
            let spendFile = try ModelFile.decode(try readWholeFile(spendModel), source: spendModel)
            clv = CustomerLifetimeValue(purchases: purchases, spend: try spendFile.spendModel(),
                                        monthLength: CustomerLifetimeValue.monthLength(unit: unit.value.rawValue) ?? 1)
        }
        let data = try CustomerSummary.read(path: summary, unit: unit.value)
        if clv != nil, data.monetaryValue == nil {
            throw CommandError("\(summary) has no monetary_value column: CLV needs amounts")
        }
        var columns = ["customer_id", "expected_purchases", "p_alive"]
        if clv != nil { columns += ["expected_spend", "clv"] }
        var writer = CSVWriter(columns: columns, expectedRows: data.count)
        let months = clv.map { max(1, Int((horizon / $0.monthLength).rounded())) } ?? 0
        for i in 0..<data.count {
            let (x, tx, T) = (Double(data.frequency[i]), data.recency[i], data.T[i])
            var row = [purchases.expectedPurchases(in: horizon, frequency: x, recency: tx, T: T),
                       purchases.pAlive(frequency: x, recency: tx, T: T)]
            if let clv, let monetary = data.monetaryValue {
                row.append(clv.spend.expectedSpend(frequency: x, monetaryValue: monetary[i]))
                row.append(clv.value(months: months, discountRate: discountRate, frequency: x, recency: tx, T: T, monetaryValue: monetary[i]))
            }
            writer.appendRow(data.customerIDs, i, row)
        }
        try writeFileAtomically(writer.bytes, to: output)
        print("\(data.count) customers scored over \(horizon) \(unit.value.rawValue)\(clv != nil ? " (CLV over \(months) months)" : "") → \(output)")
    }
}
