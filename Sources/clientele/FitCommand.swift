import ArgumentParser
import Foundation
import LifetimeValue
import Transactions

/// The unit of a summary file, which the file itself does not record.
struct SummaryUnitOption: ParsableArguments {
    @Option(help: "The unit of recency and T in the summary: days, weeks or months (as summarize wrote it).")
    var unit = "days"

    func validate() throws {
        guard TimeUnit(rawValue: unit) != nil else {
            throw ValidationError("--unit must be days, weeks or months (got \"\(unit)\")")
        }
    }

    var value: TimeUnit { TimeUnit(rawValue: unit) ?? .days }
}

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a purchase, spend or retention model by maximum likelihood.",
        discussion: """
            Models on a customer summary (frequency, recency, T): bgnbd (BG/NBD), mbgnbd \
            (MBG/NBD), pareto-nbd (Pareto/NBD), bgbb (BG/BB: recency and T counted in whole \
            opportunities; a weights column groups identical histories, as in \
            datasets/donations/donations.csv), gamma-gamma (spend per transaction, fitted on \
            repeat buyers). On a retention table (period, customers still active): sbg \
            (shifted-beta-geometric), with --cohort naming the column of counts. The model \
            file holds the estimates, standard errors, 95% intervals, the log-likelihood and \
            what the model was fitted on.

            Examples:
              clientele fit bgnbd summary.csv --unit weeks --output models/cdnow-bgnbd.json
              clientele fit bgbb datasets/donations/donations.csv --output donations-bgbb.json
              clientele fit sbg datasets/retention/fader_hardie_2007.csv --cohort regular \
                --calibration-periods 7 --output regular-sbg.json
            """)

    static let models = ["bgnbd", "mbgnbd", "pareto-nbd", "bgbb", "gamma-gamma", "sbg"]

    @Argument(help: "The model: \(models.joined(separator: ", ")).")
    var model: String

    @Argument(help: "The customer summary CSV (from clientele summarize), or for sbg the retention table.")
    var summary: String

    @OptionGroup var unit: SummaryUnitOption

    @Option(parsing: .unconditional, help: "L2 penalty on the parameters, as lifetimes' penalizer_coef (0: none).")
    var penalty = 0.0

    @Option(help: "sbg: the column of customers still active after each period (default: the second column).")
    var cohort: String?

    @Option(parsing: .unconditional, help: "sbg: fit on periods 0 through this one only; later rows are left for checking projections.")
    var calibrationPeriods: Int?

    @Option(help: "Where to write the model file (JSON, written whole or not at all).")
    var output: String

    func validate() throws {
        guard Self.models.contains(model) else {
            throw ValidationError("unknown model \"\(model)\"; available: \(Self.models.joined(separator: ", "))")
        }
        guard penalty >= 0, penalty.isFinite else { throw ValidationError("--penalty must be 0 or more") }
        if model != "sbg", cohort != nil || calibrationPeriods != nil {
            throw ValidationError("--cohort and --calibration-periods are for the sbg model only")
        }
        if let calibrationPeriods, calibrationPeriods < 1 {
            throw ValidationError("--calibration-periods must be 1 or more")
        }
    }

    func run() throws {
        try Report.begin(outputs: ["--output": output], inputs: [summary])
        let fit: FitResult
        var customers: Int
        let dataFingerprint: String
        var timeUnit = unit.value.rawValue
        if model == "sbg" {
            var active = try RetentionTable.read(path: summary, column: cohort)
            if let calibrationPeriods {
                // Periods 0…N are kept; an N past the table's last period would quietly fit
                // them all and leave nothing for checking projections.
                guard calibrationPeriods < active.count else {
                    throw CommandError("--calibration-periods \(calibrationPeriods) is beyond the table: \(summary) has periods 0…\(active.count - 1), so give at most \(active.count - 1)")
                }
                active = Array(active.prefix(calibrationPeriods + 1))
            }
            fit = try ShiftedBetaGeometric.fit(active: active, penalty: penalty).fit
            customers = Int(active[0])
            dataFingerprint = RetentionTable.fingerprint(active)
            timeUnit = "periods"
        } else {
            let data = try CustomerSummary.read(path: summary, unit: unit.value)
            dataFingerprint = data.fingerprint
            let frequency = data.frequency.map(Double.init)
            func histories() throws -> PurchaseHistories {
                try PurchaseHistories(frequency: frequency, recency: data.recency, T: data.T, weights: data.weights)
            }
            customers = Int(data.weights?.reduce(0, +) ?? Double(data.count))
            switch model {
            case "bgnbd": fit = try BGNBD.fit(try histories(), penalty: penalty).fit
            case "mbgnbd": fit = try MBGNBD.fit(try histories(), penalty: penalty).fit
            case "pareto-nbd": fit = try ParetoNBD.fit(try histories(), penalty: penalty).fit
            case "bgbb":
                fit = try BGBB.fit(try histories(), penalty: penalty).fit
                timeUnit = "periods"
            default:
                guard let monetary = data.monetaryValue else {
                    throw CommandError("\(summary) has no monetary_value column: the spend model needs amounts")
                }
                let spend = try GammaGamma.fit(frequency: frequency, monetaryValue: monetary, penalty: penalty)
                fit = spend.fit
                customers = spend.customers
                if spend.leftOut > 0 {
                    writeStandardError("left out \(spend.leftOut) repeat buyers whose mean spend is not positive\n")
                }
                let correlation = GammaGamma.frequencySpendCorrelation(frequency: frequency, monetaryValue: monetary)
                reportLine("correlation of frequency and spend among repeat buyers: \(String(format: "%.3f", correlation))")
                if abs(correlation) > 0.3 {
                    writeStandardError("warning: frequency and spend correlate (\(String(format: "%.2f", correlation))); the Gamma-Gamma model assumes they do not\n")
                }
            }
        }
        var file = ModelFile(model: model, fit: fit, customers: customers, timeUnit: timeUnit,
                             dataFingerprint: dataFingerprint, clienteleVersion: Clientele.version)
        // Recorded, so that a model fitted with a penalty says so (its estimates are not the
        // maximum-likelihood ones).
        if penalty > 0 { file.penalty = penalty }
        try writeFileAtomically(try file.encoded(), to: output)
        for (i, name) in fit.parameterNames.enumerated() {
            let padded = name.padding(toLength: 6, withPad: " ", startingAt: 0)
            reportLine("\(padded) \(String(format: "%10.6g", fit.parameters[i]))  se \(String(format: "%.4g", fit.standardErrors[i]))  95% \(String(format: "%.4g", fit.lowerBounds[i]))…\(String(format: "%.4g", fit.upperBounds[i]))")
        }
        reportLine("log-likelihood \(String(format: "%.4f", fit.logLikelihood)), \(customers) customers, \(fit.iterations) iterations → \(output)")
    }
}
