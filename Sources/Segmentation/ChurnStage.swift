import Churn
import Foundation
import LifetimeValue
import Transactions

/// The churn stage: a logistic model of the holdout label (no purchase in the holdout
/// window, by default) on the calibration window's frequency, recency, T, monetary value and
/// the BG/NBD model's P(alive) and expected purchases over the holdout's length; its quality
/// measured by stratified cross-validation; then every customer scored on the whole history,
/// so a churn probability reads "P(no purchase in the next holdout-length window)".
///
/// The churn features need a BG/NBD model. When the job's purchase model is BG/NBD it is
/// reused; otherwise a BG/NBD model is fitted on the calibration window for the features only.
struct ChurnOutcome {
    /// Its data fingerprint is left empty; the pipeline fills it in when it writes the file.
    let model: ChurnModel
    /// Of the scored customers.
    let probabilities: [Double]
    /// The lift chart's deciles: out of fold when cross-validated, else in sample.
    let deciles: [ScoreMetrics.Decile]
    let deciledOutOfFold: Bool
    let logLine: String

    /// `scoringHistories` gives the scoring summary's distinct histories (when they are ready);
    /// the calibration window's come with the purchase model. `designReleased` is called once
    /// the fit's design is dropped, before the metrics and the scoring. `fitting` is taken
    /// over: once the labels and features are made from it, the stage holds no copy, and a
    /// caller that handed over its own has the calibration summary's columns freed with the
    /// design, before the metrics and whatever runs beside them need memory.
    ///
    /// `scoredBeforeMetrics`: the customers are scored as soon as the model is fitted, and
    /// `scored` hands their probabilities over then, so that a caller's stages that need only
    /// those go on while the cross-validation's metrics are taken; otherwise the metrics come
    /// first, and the scoring's features are made once the metrics' working set is gone (a
    /// large job's peak memory). `scored` is called in either case.
    init(_ settings: ModelSettings, fitting: consuming CustomerSummary, scoring: CustomerSummary,
         scoringHistories: () throws -> PurchaseHistories, purchase: PurchaseModelFit,
         createdAt: Date, clienteleVersion: String, designReleased: (() -> Void)? = nil,
         scoredBeforeMetrics: Bool = false, scored: (([Double]) -> Void)? = nil) throws {
        let labels = try settings.churnDefinition.labels(fitting, source: "the calibration summary")
        try ChurnModel.checkLabels(labels, folds: settings.churnFolds)
        let bgnbd = try purchase.bgnbd ?? BGNBD.fit(purchase.histories).model
        let purchaseScore = PurchaseScore(bgnbd, horizon: fitting.holdout?.duration ?? 0)
        // Dropped once the features and the metrics' per-history copies are made.
        var scores: PurchaseScores? = try purchaseScore.scores(purchase.histories)
        let specification = try FeatureSpecification.choose(requested: nil, summary: fitting, purchaseModel: purchaseScore, attributes: nil)
        let features = try specification.features(fitting, attributes: nil, purchaseScores: scores!)
        let (customers, timeUnit) = (fitting.count, fitting.unit)
        _ = consume fitting
        var crossValidation: ChurnModel.CrossValidation?
        if settings.churnFolds > 0 {
            var labelProbability: [Double]?
            if case .purchasesBelow(let n) = settings.churnDefinition {
                labelProbability = try purchaseScore.probabilityOfFewerPurchasesPerHistory(than: n, purchase.histories)
            }
            // The metrics take the scores per history: the per-customer ones go with the
            // features they are columns of, when the fit drops its design.
            let historyOf = purchase.histories.customerRows
            crossValidation = .init(folds: settings.churnFolds, seed: settings.churnSeed,
                                    purchaseScores: (ChurnModel.perHistory(scores!.pAlive, historyOf: historyOf),
                                                     ChurnModel.perHistory(scores!.expectedPurchases, historyOf: historyOf)),
                                    purchaseModelProbability: labelProbability,
                                    historyOf: historyOf)
            crossValidation?.scoresPerHistory = true
        }
        scores = nil
        // Without cross-validation the deciles are in sample, on the features kept for them;
        // with it, the fit takes the only copy and drops it with its design.
        let inSample = crossValidation == nil ? features : nil
        var (model, metrics) = try ChurnModel.fitMeasuringLater(
            features: consume features, labels: labels, specification: specification, label: settings.churnDefinition,
            penalty: settings.churnPenalty, classWeights: .none, timeUnit: timeUnit.rawValue, dataFingerprint: "",
            clienteleVersion: clienteleVersion, createdAt: createdAt, crossValidation: crossValidation,
            designReleased: designReleased)
        if !scoredBeforeMetrics {
            model.evaluation = metrics?.measure()
            metrics = nil
        }
        probabilities = try model.probabilities(try specification.features(
            scoring, attributes: nil, purchaseScores: try purchaseScore.scores(try scoringHistories())))
        scored?(probabilities)
        if let metrics { model.evaluation = metrics.measure() }
        self.model = model
        if let evaluation = model.evaluation {
            deciles = evaluation.logistic.deciles
            deciledOutOfFold = true
        } else {
            deciles = ScoreMetrics(scores: try model.probabilities(inSample!), labels: labels, isProbability: true).deciles
            deciledOutOfFold = false
        }
        let churned = Int(labels.reduce(0, +))
        var line = "churn: \(settings.churnDefinition): \(churned) of \(customers) customers; logistic regression, \(model.iterations) iterations"
        if let evaluation = model.evaluation {
            line += String(format: "; %d-fold AUC %.4f, top-decile lift %.2f", evaluation.folds, evaluation.logistic.auc, evaluation.logistic.deciles[0].lift)
        }
        if purchase.bgnbd == nil {
            // Its parameters are in churn-logistic.json's specification, not in a model file.
            line += "; its P(alive) and expected-purchases features from a BG/NBD model fitted for them (r \(bgnbd.r), alpha \(bgnbd.alpha), a \(bgnbd.a), b \(bgnbd.b)), not the job's \(settings.purchase.rawValue)"
        }
        logLine = line
    }
}
