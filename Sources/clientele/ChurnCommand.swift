import ArgumentParser
import Churn
import Foundation
import LifetimeValue
import Transactions

struct ChurnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract: "Fit a churn model (logistic regression on holdout labels) and cross-validate it, or score with a saved one.",
        discussion: """
            Fitting needs a calibration/holdout summary: a customer has churned when it makes no \
            purchase in the holdout window (or fewer than --holdout-purchases-below, or spends \
            less than --holdout-spend-below). Features: frequency, recency, T, monetary_value, \
            the BG/NBD model's p_alive and expected_purchases over the holdout's length (from \
            --bgnbd, or fitted on the summary's calibration columns), and the columns of \
            --attributes joined on customer_id (categorical ones one-hot, the first level in \
            sorted order being the reference). Features are standardised; --penalty is the L2 \
            penalty λ on their coefficients (scikit-learn's C = 1/λ), never on the intercept.

            The model is evaluated by stratified --folds-fold cross-validation (AUC, log-loss, \
            Brier score, lift, gain and calibration by decile), beside the BG/NBD model's own \
            churn scores on the same folds, and the scores CSV has each customer's probability \
            from the model fitted on all customers and its out-of-fold probability.

            Example (CDNOW, weeks, 39-week calibration and holdout to 1998-06-30):
              clientele churn summary.csv --unit weeks --bgnbd models/bgnbd.json \\
                --output churn-scores.csv --model-output models/churn.json
            Scoring a summary with a saved model (no holdout needed):
              clientele churn summary.csv --unit weeks --model models/churn.json --output churn-scores.csv
            """)

    @Argument(help: "The customer summary CSV (from clientele summarize).")
    var summary: String

    @OptionGroup var unit: SummaryUnitOption

    @Option(help: "A saved churn model (from --model-output): score the summary with it instead of fitting.")
    var model: String?

    @Option(help: "A BG/NBD model file (from clientele fit bgnbd) for p_alive and expected_purchases; default: fitted on the summary.")
    var bgnbd: String?

    @Option(help: "A CSV of customer attributes, first column customer_id, joined onto the summary.")
    var attributes: String?

    @Option(help: "An attribute column to treat as categorical even if its values are numbers (repeatable).")
    var categorical: [String] = []

    @Option(help: "The features to use, comma-separated (default: every summary, BG/NBD and attribute column).")
    var features: String?

    @Option(parsing: .unconditional, help: "Churned: fewer than this many purchase periods in the holdout (default 1: none).")
    var holdoutPurchasesBelow: Int?

    @Option(parsing: .unconditional, help: "Churned: holdout spend (frequency_holdout × monetary_value_holdout) below this.")
    var holdoutSpendBelow: Double?

    @Option(name: .customLong("penalty"), parsing: .unconditional,
            help: "The L2 penalty λ on the standardised coefficients (default 0: none, with standard errors).")
    var givenPenalty: Double?
    var penalty: Double { givenPenalty ?? 0 }

    @Option(name: .customLong("class-weights"), parsing: .unconditional,
            help: "Class weights in the fit: none (default), balanced, or the weight of a churned customer.")
    var givenClassWeights: String?
    var classWeights: String { givenClassWeights ?? "none" }

    @Option(name: .customLong("folds"), parsing: .unconditional, help: "Cross-validation folds (default 5; 0: no cross-validation).")
    var givenFolds: Int?
    var folds: Int { givenFolds ?? 5 }

    @Option(name: .customLong("seed"), parsing: .unconditional, help: "The seed of the fold assignment (default 42).")
    var givenSeed: UInt64?
    var seed: UInt64 { givenSeed ?? 42 }

    @Option(help: "Where to write the per-customer scores CSV (written whole or not at all).")
    var output: String

    @Option(help: "Where to write the fitted churn model (JSON).")
    var modelOutput: String?

    /// `--features` as a list: split at commas, each name trimmed, empty names kept (for
    /// `validate` to refuse).
    private var requestedFeatures: [String]? {
        features.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func validate() throws {
        // Beyond these the arithmetic, not the data, decides: a class weight of 1e15 or 1e-17
        // swamps the other class (the fit then failed saying there was one class only).
        guard LogisticRegression.acceptsPenalty(penalty) else {
            throw ValidationError("--penalty must be 0 or from 1e-8 to 1e6 (got \(penalty))")
        }
        guard let weights = ClassWeights(argument: classWeights) else {
            throw ValidationError("--class-weights must be none, balanced or a positive number (got \"\(classWeights)\")")
        }
        if case .churned(let weight) = weights, !(1e-3...1e3).contains(weight) {
            throw ValidationError("--class-weights must be from 0.001 to 1000 when a number (got \(classWeights))")
        }
        guard folds == 0 || folds >= 2 else { throw ValidationError("--folds must be 0 (none) or at least 2") }
        if holdoutPurchasesBelow != nil, holdoutSpendBelow != nil {
            throw ValidationError("give --holdout-purchases-below or --holdout-spend-below, not both")
        }
        if let n = holdoutPurchasesBelow, n < 1 { throw ValidationError("--holdout-purchases-below must be at least 1") }
        if let spend = holdoutSpendBelow, !ChurnLabel.acceptsSpendThreshold(spend) {
            throw ValidationError("--holdout-spend-below must be a number above 0 (got \(spend))")
        }
        if let requested = requestedFeatures {
            // An empty list (or an empty name in it) would fit an intercept alone; a name twice
            // would be two equal columns, which the fit refuses as collinear.
            guard !requested.isEmpty, !requested.contains("") else {
                throw ValidationError("--features must name at least one feature, comma-separated, with no empty name (got \"\(features ?? "")\")")
            }
            if let twice = requested.firstRepeated {
                throw ValidationError("--features lists \"\(twice)\" twice; list each feature once")
            }
        }
        if model != nil {
            let fitting = [("--bgnbd", bgnbd != nil), ("--features", features != nil), ("--model-output", modelOutput != nil),
                           ("--holdout-purchases-below", holdoutPurchasesBelow != nil), ("--holdout-spend-below", holdoutSpendBelow != nil),
                           ("--categorical", !categorical.isEmpty), ("--penalty", givenPenalty != nil),
                           ("--class-weights", givenClassWeights != nil), ("--folds", givenFolds != nil), ("--seed", givenSeed != nil)]
            if let (flag, _) = fitting.first(where: \.1) {
                throw ValidationError("\(flag) is for fitting; with --model the saved model's choices apply")
            }
        }
    }

    func run() throws {
        try Report.begin(outputs: ["--output": output, "--model-output": modelOutput], inputs: [summary, model, bgnbd, attributes])
        let data = try CustomerSummary.read(path: summary, unit: unit.value)
        let table = try attributes.map { try CSVTable.read(path: $0) }
        if let model {
            try score(data, with: try ChurnModel.decode(try readWholeFile(model), source: model), attributes: table)
        } else {
            try fit(data, attributes: table)
        }
    }

    private func fit(_ data: CustomerSummary, attributes table: CSVTable?) throws {
        let label = holdoutSpendBelow.map(ChurnLabel.spendBelow) ?? .purchasesBelow(holdoutPurchasesBelow ?? 1)
        let labels = try label.labels(data, source: summary)
        // Labels of one class are refused now, not after the BG/NBD model is fitted.
        try ChurnModel.checkLabels(labels, folds: folds)
        // The distinct histories serve the BG/NBD fit, its scores and their metrics.
        let histories = try PurchaseHistories(data)
        let purchases = PurchaseScore(try purchaseModel(histories), horizon: data.holdout?.duration ?? 0)
        let scores = try purchases.scores(histories)
        let specification = try FeatureSpecification.choose(requested: requestedFeatures, summary: data, purchaseModel: purchases,
                                                            attributes: table, categorical: Set(categorical))
        let matrix = try specification.features(data, attributes: table, purchaseScores: scores)
        let weights = ClassWeights(argument: classWeights) ?? .none
        var labelProbability: [Double]?
        if case .purchasesBelow(let n) = label { labelProbability = try purchases.probabilityOfFewerPurchases(than: n, histories) }
        let churnModel = try ChurnModel.fit(
            features: matrix, labels: labels, specification: specification, label: label, penalty: penalty,
            classWeights: weights, timeUnit: unit.value.rawValue, dataFingerprint: data.fingerprint, clienteleVersion: Clientele.version,
            crossValidation: folds == 0 ? nil : .init(folds: folds, seed: seed, purchaseScores: scores,
                                                      purchaseModelProbability: labelProbability,
                                                      historyOf: histories.customerRows))
        let evaluation = churnModel.evaluation
        let probabilities = try churnModel.probabilities(matrix)

        var columns = ["customer_id", "churned", "churn_probability"]
        if evaluation != nil { columns.append("out_of_fold_probability") }
        columns += ["p_alive", "expected_purchases"]
        var values: [[Double]?] = [labels, probabilities]
        if let evaluation { values.append(evaluation.outOfFoldProbabilities) }
        values += [scores.pAlive, scores.expectedPurchases]
        // The scores and the model file both, or neither.
        try writeFilesAtomically([(pieces: CSVWriter.pieces(columns: columns, ids: data.customerIDs, values: values), path: output)]
            + (try modelOutput.map { [(pieces: [try churnModel.encoded()], path: $0)] } ?? []))
        report(churnModel, label: label)
    }

    /// The BG/NBD model of --bgnbd, or one fitted on the summary's calibration histories.
    private func purchaseModel(_ histories: PurchaseHistories) throws -> BGNBD {
        guard let bgnbd else {
            // Its scores are features (unless --features leaves them out) and the baselines the
            // cross-validation measures the churn model against: a fit that fails says so.
            do {
                return try BGNBD.fit(histories).model
            } catch {
                throw CommandError("the BG/NBD model for P(alive) and expected purchases, fitted on \(summary) (give --bgnbd for a saved one): \(error)")
            }
        }
        let file = try ModelFile.decode(try readWholeFile(bgnbd), source: bgnbd)
        guard file.model == "bgnbd" else { throw CommandError("\(bgnbd) holds a \(file.model) model; --bgnbd needs a bgnbd one") }
        guard file.timeUnit == unit.value.rawValue else {
            throw CommandError("\(bgnbd) was fitted in \(file.timeUnit) but the summary is in \(unit.value.rawValue) (--unit)")
        }
        guard let model = try CommandError.naming(bgnbd, { try file.purchaseModel() }) as? BGNBD else { throw CommandError("\(bgnbd) does not hold a BG/NBD model") }
        return model
    }

    private func score(_ data: CustomerSummary, with churnModel: ChurnModel, attributes table: CSVTable?) throws {
        let source = model ?? ""
        guard churnModel.timeUnit == unit.value.rawValue else {
            throw CommandError("\(source) was fitted in \(churnModel.timeUnit) but the summary is in \(unit.value.rawValue) (--unit)")
        }
        let scores = try churnModel.specification.purchaseModel?.scores(data)
        let probabilities = try churnModel.probabilities(
            try churnModel.specification.features(data, attributes: table, purchaseScores: scores))
        let pieces = CSVWriter.pieces(columns: ["customer_id", "churn_probability"] + (scores == nil ? [] : ["p_alive", "expected_purchases"]),
                                      ids: data.customerIDs, values: [probabilities] + (scores.map { [$0.pAlive, $0.expectedPurchases] } ?? []))
        try writeFilesAtomically([(pieces: pieces, path: output)])
        reportLine("\(data.count) customers scored with \(source) (churn: \(churnModel.label)) → \(output)")
    }

    private func report(_ churnModel: ChurnModel, label: ChurnLabel) {
        reportLine("churned: \(label): \(Int((churnModel.churnRate * Double(churnModel.customers)).rounded())) of \(churnModel.customers) customers (\(percent(churnModel.churnRate)))")
        reportLine("logistic regression, penalty \(penalty), class weights \(classWeights): \(churnModel.iterations) Newton iterations, \(churnModel.converged ? "converged" : "NOT converged"), \(churnModel.classWeights == .none ? "" : "weighted ")log-likelihood \(String(format: "%.4f", churnModel.logLikelihood))")
        reportLine("coefficient                per SD     per unit   std.err       z")
        for c in churnModel.coefficients {
            let name = c.name.padding(toLength: 22, withPad: " ", startingAt: 0)
            let inference = c.standardError.map { String(format: "%10.4g %7.2f", $0, c.zValue ?? 0) } ?? ""
            reportLine("\(name) \(String(format: "%10.4f %12.5g", c.standardized, c.original)) \(inference)")
        }
        if let evaluation = churnModel.evaluation {
            reportLine("\(evaluation.folds)-fold stratified cross-validation (seed \(evaluation.seed)):")
            reportLine("  \("score".padding(toLength: 48, withPad: " ", startingAt: 0)) AUC     log-loss  Brier   top-decile lift")
            let rows: [(String, ScoreMetrics?)] = [("logistic model", evaluation.logistic),
                                                   ("BG/NBD P(\(label))", evaluation.purchaseModelProbability),
                                                   ("BG/NBD 1 − P(alive)", evaluation.oneMinusPAlive),
                                                   ("BG/NBD expected purchases (ranking only)", evaluation.expectedPurchases)]
            for (name, metrics) in rows {
                guard let metrics else { continue }
                let loss = metrics.logLoss.map { String(format: "%8.4f", $0) } ?? "       –"
                let brier = metrics.brierScore.map { String(format: "%7.4f", $0) } ?? "      –"
                reportLine("  \(name.padding(toLength: 48, withPad: " ", startingAt: 0)) \(String(format: "%.4f", metrics.auc)) \(loss)  \(brier)  \(String(format: "%.2f", metrics.deciles[0].lift))")
            }
        }
        reportLine("→ \(output)\(modelOutput.map { ", \($0)" } ?? "")")
    }

    private func percent(_ share: Double) -> String { String(format: "%.1f%%", 100 * share) }
}
