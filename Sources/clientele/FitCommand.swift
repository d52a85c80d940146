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
        abstract: "Fit a purchase or spend model to a customer summary by maximum likelihood.",
        discussion: """
            Models: bgnbd (BG/NBD purchases), mbgnbd (MBG/NBD purchases), gamma-gamma (spend \
            per transaction, fitted on repeat buyers). The model file holds the estimates, standard errors, 95% intervals, \
            the log-likelihood and what the model was fitted on.

            Example (the BG/NBD paper's CDNOW calibration, in weeks):
              clientele fit bgnbd summary.csv --unit weeks --output models/cdnow-bgnbd.json
            """)

    static let models = ["bgnbd", "mbgnbd", "gamma-gamma"]

    @Argument(help: "The model: \(models.joined(separator: ", ")).")
    var model: String

    @Argument(help: "The customer summary CSV (from clientele summarize).")
    var summary: String

    @OptionGroup var unit: SummaryUnitOption

    @Option(help: "L2 penalty on the parameters, as lifetimes' penalizer_coef (0: none).")
    var penalty = 0.0

    @Option(help: "Where to write the model file (JSON, written whole or not at all).")
    var output: String

    func validate() throws {
        guard Self.models.contains(model) else {
            throw ValidationError("unknown model \"\(model)\"; available: \(Self.models.joined(separator: ", "))")
        }
        guard penalty >= 0, penalty.isFinite else { throw ValidationError("--penalty must be 0 or more") }
    }

    func run() throws {
        let bytes = try readWholeFile(summary)
        let data = try CustomerSummary.read(path: summary, unit: unit.value)
        let frequency = data.frequency.map(Double.init)
        let fit: FitResult
        switch model {
        case "bgnbd":
            fit = try BGNBD.fit(try PurchaseHistories(frequency: frequency, recency: data.recency, T: data.T), penalty: penalty).fit
        case "mbgnbd":
            fit = try MBGNBD.fit(try PurchaseHistories(frequency: frequency, recency: data.recency, T: data.T), penalty: penalty).fit
        default:
            guard let monetary = data.monetaryValue else {
                throw CommandError("\(summary) has no monetary_value column: the spend model needs amounts")
            }
            let spend = try GammaGamma.fit(frequency: frequency, monetaryValue: monetary, penalty: penalty)
            fit = spend.fit
            if spend.leftOut > 0 {
                writeStandardError("left out \(spend.leftOut) repeat buyers whose mean spend is not positive\n")
            }
            let correlation = GammaGamma.frequencySpendCorrelation(frequency: frequency, monetaryValue: monetary)
            if abs(correlation) > 0.3 {
                writeStandardError("warning: frequency and spend correlate (\(String(format: "%.2f", correlation))); the Gamma-Gamma model assumes they do not\n")
            }
        }
        let file = ModelFile(model: model, fit: fit, customers: data.count, timeUnit: unit.value.rawValue,
                             dataFingerprint: fingerprint(bytes), clienteleVersion: Clientele.version)
        try writeFileAtomically(try file.encoded(), to: output)
        for (i, name) in fit.parameterNames.enumerated() {
            let padded = name.padding(toLength: 6, withPad: " ", startingAt: 0)
            print("\(padded) \(String(format: "%10.6g", fit.parameters[i]))  se \(String(format: "%.4g", fit.standardErrors[i]))  95% \(String(format: "%.4g", fit.lowerBounds[i]))…\(String(format: "%.4g", fit.upperBounds[i]))")
        }
        print("log-likelihood \(String(format: "%.4f", fit.logLikelihood)), \(data.count) customers, \(fit.iterations) iterations → \(output)")
    }
}
