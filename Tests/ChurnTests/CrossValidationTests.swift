import Foundation
import LifetimeValue
import LinearAlgebra
import Testing
@testable import Churn

@Suite struct CrossValidationTests {
    @Test func foldsAreStratifiedAndSeeded() throws {
        let labels = try ChurnLabel.noHoldoutPurchase.labels(cdnowHoldoutSummary, source: "CDNOW")
        let folds = ChurnEvaluation.stratifiedFolds(labels: labels, folds: 5, seed: 42)
        let churners = labels.reduce(0, +)
        for k in 0..<5 {
            let members = folds.indices.filter { folds[$0] == k }
            #expect(abs(Double(members.count) - Double(labels.count) / 5) <= 1)
            #expect(abs(members.reduce(0) { $0 + labels[$1] } - churners / 5) <= 1)
        }
        #expect(ChurnEvaluation.stratifiedFolds(labels: labels, folds: 5, seed: 42) == folds)
        #expect(ChurnEvaluation.stratifiedFolds(labels: labels, folds: 5, seed: 43) != folds)
    }

    /// Folds are drawn customer by customer in file order, yet who goes where is uniformly
    /// random given each fold's places: 7 churned customers dealt into 3 folds take 3, 2, 2
    /// places, the 11 retained continue the deal at the second fold and take 3, 4, 4; over
    /// 3,000 seeds every customer, early or late in the file, lands in each fold as often as
    /// that fold's share of its class's places (within 0.04; the standard error is below 0.009).
    @Test func everyCustomerFallsInEachFoldInProportionToItsPlaces() {
        let labels: [Double] = [1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
        let places: [Double: [Int]] = [1: [3, 2, 2], 0: [3, 4, 4]]
        let seeds = 3000
        var counts = [[Int]](repeating: [0, 0, 0], count: labels.count)
        for seed in 0..<seeds {
            let folds = ChurnEvaluation.stratifiedFolds(labels: labels, folds: 3, seed: UInt64(seed))
            for label in [1.0, 0.0] {
                let taken = (0..<3).map { f in labels.indices.filter { labels[$0] == label && folds[$0] == f }.count }
                #expect(taken == places[label]!, "seed \(seed)")
            }
            for (i, f) in folds.enumerated() { counts[i][f] += 1 }
        }
        for (i, label) in labels.enumerated() {
            let classSize = Double(labels.filter { $0 == label }.count)
            for f in 0..<3 {
                #expect(abs(Double(counts[i][f]) / Double(seeds) - Double(places[label]![f]) / classSize) < 0.04, "customer \(i), fold \(f)")
            }
        }
    }

    /// Each customer's out-of-fold probability comes from a model that never saw it: refitting
    /// on the other folds by hand gives the same numbers; the BG/NBD scores are measured on
    /// the same folds.
    @Test func outOfFoldProbabilitiesComeFromModelsFittedWithoutTheFold() throws {
        let (_, features, labels) = try cdnowFixtureFeatures()
        let scores = (pAlive: features.columns[0].map { 1 / (1 + $0) }, expectedPurchases: features.columns[1])
        let evaluation = try ChurnEvaluation(features: features, labels: labels, purchaseScores: scores,
                                             purchaseModelProbability: scores.pAlive, penalty: 0.5, classWeights: .none, folds: 4, seed: 9)
        let folds = ChurnEvaluation.stratifiedFolds(labels: labels, folds: 4, seed: 9)
        let training = folds.indices.filter { folds[$0] != 2 }, testing = folds.indices.filter { folds[$0] == 2 }
        let (transform, fit) = try ChurnModel.fitLogistic(features.selecting(training), training.map { labels[$0] },
                                                          penalty: 0.5, classWeights: .none)
        let byHand = byHandProbabilities(transform.design(features.selecting(testing)), fit.coefficients)
        // The library fits the fold on the shared design with rescaled penalties, from another
        // start: the same optimum, so the same probabilities but for rounding.
        let library = testing.map { evaluation.outOfFoldProbabilities[$0] }
        #expect(zip(library, byHand).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(Set(library).count > testing.count / 2)
        #expect(evaluation.logistic == ScoreMetrics(scores: evaluation.outOfFoldProbabilities, labels: labels, isProbability: true,
                                                    folds: folds, foldCount: 4))
        #expect(evaluation.oneMinusPAlive?.auc == ScoreMetrics.auc(scores.pAlive.map { 1 - $0 }, labels))
        #expect(evaluation.expectedPurchases?.logLoss == nil)
        #expect(evaluation.purchaseModelProbability == ScoreMetrics(scores: scores.pAlive, labels: labels, isProbability: true,
                                                                    folds: folds, foldCount: 4))
        #expect(evaluation.logistic.foldAUC.count == 4)
    }

    /// With class weights (each fold's own, from its training rows) and Newton started from
    /// the model fitted on everyone, each fold still reaches its own optimum.
    @Test func weightedFoldsStartedFromTheFullModelReachTheirOwnOptimum() throws {
        let (specification, features, labels) = try cdnowFixtureFeatures()
        let fitted = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                        penalty: 2, classWeights: .balanced, timeUnit: "weeks", dataFingerprint: "",
                                        clienteleVersion: "test")
        let evaluation = try ChurnEvaluation(features: features, labels: labels, purchaseScores: nil, penalty: 2,
                                             classWeights: .balanced, folds: 3, seed: 5, fitted: fitted)
        let folds = ChurnEvaluation.stratifiedFolds(labels: labels, folds: 3, seed: 5)
        for k in 0..<3 {
            let training = folds.indices.filter { folds[$0] != k }, testing = folds.indices.filter { folds[$0] == k }
            let (transform, fit) = try ChurnModel.fitLogistic(features.selecting(training), training.map { labels[$0] },
                                                              penalty: 2, classWeights: .balanced)
            let byHand = byHandProbabilities(transform.design(features.selecting(testing)), fit.coefficients)
            let library = testing.map { evaluation.outOfFoldProbabilities[$0] }
            #expect(zip(library, byHand).allSatisfy { abs($0 - $1) < 1e-12 })
        }
    }

    /// Fitting and cross-validating together (one design in fold order, each fold's first
    /// evaluation taken from the full fit's last pass) gives the same full model, to rounding,
    /// and the same folds, to the bit, as fitting and then cross-validating apart; with class
    /// weights that a fold shares with the full fit (a fixed weight), and with ones it does not
    /// (balanced, refitted from its own first pass).
    @Test func fittingAndCrossValidatingTogetherChangesNothing() throws {
        let (specification, features, labels) = try cdnowFixtureFeatures()
        let scores = (pAlive: features.columns[0].map { 1 / (1 + $0) }, expectedPurchases: features.columns[1])
        for weights in [ClassWeights.none, .churned(2.5), .balanced] {
            func fit(_ crossValidation: ChurnModel.CrossValidation?) throws -> ChurnModel {
                try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                   penalty: 0.5, classWeights: weights, timeUnit: "weeks", dataFingerprint: "",
                                   clienteleVersion: "test", crossValidation: crossValidation)
            }
            let together = try fit(.init(folds: 4, seed: 9, purchaseScores: scores))
            let alone = try fit(nil)
            for (a, b) in zip(together.coefficients, alone.coefficients) {
                #expect(abs(a.standardized - b.standardized) < 1e-10 * max(1, abs(b.standardized)), "\(weights) \(a.name)")
            }
            let apart = try ChurnEvaluation(features: features, labels: labels, purchaseScores: scores, penalty: 0.5,
                                            classWeights: weights, folds: 4, seed: 9, fitted: together)
            #expect(together.evaluation?.outOfFoldProbabilities == apart.outOfFoldProbabilities, "\(weights)")
            #expect(together.evaluation == apart, "\(weights)")
        }
    }

    /// Customers who share features, label and fold — CDNOW's one-time buyers of each
    /// first-purchase day — are fitted as one design row weighted by their count: the model,
    /// its standard errors, the out-of-fold probabilities and their metrics are those of the
    /// customers one by one, to rounding. With class weights the customers stay one by one.
    @Test func repeatedCustomersAreFittedOnceWithTheSameAnswer() throws {
        let specification = try FeatureSpecification.choose(
            requested: ["frequency", "recency", "T", "monetary_value"], summary: cdnowHoldoutSummary, purchaseModel: nil, attributes: nil)
        let features = try specification.features(cdnowHoldoutSummary, attributes: nil)
        let labels = try ChurnLabel.noHoldoutPurchase.labels(cdnowHoldoutSummary, source: "CDNOW")
        let layout = try ChurnEvaluation.FoldLayout(labels: labels, folds: 5, seed: 3)
        let transform = try FeatureTransform(fitting: features)
        let fold = ChurnEvaluation.FoldDesign(features: features, labels: labels, layout: layout, transform: transform, classWeights: .none)
        let counts = try #require(fold.counts)
        #expect(fold.design.rows * 2 < labels.count && counts.reduce(0, +) == Double(labels.count))
        #expect(ChurnEvaluation.FoldDesign(features: features, labels: labels, layout: layout, transform: transform,
                                           classWeights: .balanced).counts == nil)
        for penalty in [0.0, 0.5] {
            func fit(compressing: Bool) throws -> ChurnModel {
                var crossValidation = ChurnModel.CrossValidation(folds: 5, seed: 3, purchaseScores: nil)
                crossValidation.compressing = compressing
                return try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                          penalty: penalty, classWeights: .none, timeUnit: "weeks", dataFingerprint: "",
                                          clienteleVersion: "test", crossValidation: crossValidation)
            }
            let once = try fit(compressing: true), oneByOne = try fit(compressing: false)
            for (a, b) in zip(once.coefficients, oneByOne.coefficients) {
                #expect(scaledDifference(a.original, b.original) < 1e-9, "\(penalty) \(a.name)")
                #expect((a.standardError == nil) == (penalty > 0) && (b.standardError == nil) == (penalty > 0))
                if let se = a.standardError, let reference = b.standardError { #expect(abs(se - reference) < 1e-9 * reference) }
            }
            #expect(abs(once.logLikelihood - oneByOne.logLikelihood) < 1e-9 * abs(oneByOne.logLikelihood))
            let (a, b) = (try #require(once.evaluation), try #require(oneByOne.evaluation))
            #expect(zip(a.outOfFoldProbabilities, b.outOfFoldProbabilities).allSatisfy { abs($0 - $1) < 1e-9 })
            #expect(abs(a.logistic.auc - b.logistic.auc) < 1e-9)
            #expect(abs(a.logistic.logLoss! - b.logistic.logLoss!) < 1e-9 && abs(a.logistic.brierScore! - b.logistic.brierScore!) < 1e-9)
        }
    }

    /// Given each customer's purchase history, the design's grouping of equal customers
    /// compares the history instead of the features that are functions of it (frequency,
    /// recency, T, P(alive), expected purchases): the same rows, counts and design, bit for bit.
    @Test func theHistoryStandsForTheFeaturesItDetermines() throws {
        let summary = cdnowHoldoutSummary
        let histories = try PurchaseHistories(summary)
        let purchases = PurchaseScore(try BGNBD(r: 0.243, alpha: 4.414, a: 0.793, b: 2.426), horizon: try #require(summary.holdout).duration)
        let specification = try FeatureSpecification.choose(requested: nil, summary: summary, purchaseModel: purchases, attributes: nil)
        let features = try specification.features(summary, attributes: nil, purchaseScores: try purchases.scores(histories))
        #expect(Set(features.names) == FeatureSpecification.historyFeatures.union(["monetary_value"]))
        let labels = try ChurnLabel.noHoldoutPurchase.labels(summary, source: "CDNOW")
        let layout = try ChurnEvaluation.FoldLayout(labels: labels, folds: 5, seed: 3)
        let transform = try FeatureTransform(fitting: features)
        let byFeatures = ChurnEvaluation.FoldDesign(features: features, labels: labels, layout: layout, transform: transform,
                                                    classWeights: .none)
        let byHistory = ChurnEvaluation.FoldDesign(features: features, labels: labels, layout: layout, transform: transform,
                                                   classWeights: .none, historyOf: histories.customerRows)
        let counts = try #require(byFeatures.counts)
        #expect(counts.count * 2 < labels.count)
        #expect(byHistory.counts == counts && byHistory.unitOf == byFeatures.unitOf)
        #expect(byHistory.labels == byFeatures.labels && byHistory.layout.order == byFeatures.layout.order)
        #expect(byHistory.design == byFeatures.design)
    }

    /// Customers fitted as one row are refused as they are one by one: a label that is neither
    /// 0 nor 1 keeps a row of its own and is refused, and a separating feature is named with
    /// the same count of customers fitted with certainty.
    @Test func refusalsAreTheSameWhenRepeatedCustomersAreFittedOnce() throws {
        let x = (0..<400).map { Double($0 % 8) }
        let features = FeatureMatrix(names: ["x", "y"], columns: [x, (0..<400).map { Double($0 % 3) }])
        let specification = try FeatureSpecification.choose(
            requested: ["frequency"], summary: cdnowHoldoutSummary, purchaseModel: nil, attributes: nil)
        func refusal(_ labels: [Double], compressing: Bool) -> String {
            var crossValidation = ChurnModel.CrossValidation(folds: 3, seed: 2, purchaseScores: nil)
            crossValidation.compressing = compressing
            do {
                _ = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                       penalty: 0, classWeights: .none, timeUnit: "weeks", dataFingerprint: "",
                                       clienteleVersion: "test", crossValidation: crossValidation)
                return "no refusal"
            } catch {
                return "\(error)"
            }
        }
        var badLabel = x.map { $0 >= 4 ? 1.0 : 0.0 }
        badLabel[397] = 2
        let separated = x.map { $0 >= 4 ? 1.0 : 0.0 }
        for labels in [badLabel, separated] {
            // The same words and counts; the runaway coefficient differs in its last digits.
            let once = refusal(labels, compressing: true)
            #expect(once.components(separatedBy: " (")[0] == refusal(labels, compressing: false).components(separatedBy: " (")[0])
            #expect(once.contains(labels == badLabel ? "labels must be 0 (retained) or 1 (churned)" : "400 of 400 customers"), "\(once)")
        }
    }

    /// A caller waiting for the fit's design to go is told exactly once, before the metrics
    /// (cross-validated) or after the fit (not), and the model is the same either way.
    @Test func theDesignsReleaseIsToldOnce() throws {
        let (specification, features, labels) = try cdnowFixtureFeatures()
        for crossValidation in [ChurnModel.CrossValidation(folds: 3, seed: 4, purchaseScores: nil), nil] {
            var told = 0
            let model = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                           penalty: 1, classWeights: .none, timeUnit: "weeks", dataFingerprint: "",
                                           clienteleVersion: "test", crossValidation: crossValidation, designReleased: { told += 1 })
            let silent = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                            penalty: 1, classWeights: .none, timeUnit: "weeks", dataFingerprint: "",
                                            clienteleVersion: "test", crossValidation: crossValidation)
            #expect(told == 1)
            #expect(model.coefficients == silent.coefficients && model.evaluation == silent.evaluation)
        }
    }

    /// The fold-ordered design, written customer by customer to each one's row, is the
    /// design read row by row from the customers in fold order; so are the labels.
    @Test func theFoldOrderedDesignIsTheDesignOfTheCustomersInFoldOrder() throws {
        let (_, features, labels) = try cdnowFixtureFeatures()
        let layout = try ChurnEvaluation.FoldLayout(labels: labels, folds: 5, seed: 11)
        let order = layout.order.map(Int.init)
        #expect(Set(order) == Set(labels.indices) && order.indices.allSatisfy { Int(layout.position[order[$0]]) == $0 })
        #expect(layout.ranges.allSatisfy { range in range.allSatisfy { layout.fold[order[$0]] == layout.fold[order[range.lowerBound]] } })
        let transform = try FeatureTransform(fitting: features)
        #expect(transform.design(features, positions: layout.position) == transform.design(features, rows: order))
        #expect(layout.ordered(labels) == order.map { labels[$0] })
        // Large enough to be written on two threads.
        let n = 150_000
        let many = FeatureMatrix(names: ["a", "b"], columns: [(0..<n).map { Double($0 % 1013) }, (0..<n).map { sin(Double($0)) }])
        let manyLabels = (0..<n).map { Double($0 % 7 == 0 ? 1 : 0) }
        let manyLayout = try ChurnEvaluation.FoldLayout(labels: manyLabels, folds: 5, seed: 3)
        let manyTransform = try FeatureTransform(fitting: many)
        #expect(manyTransform.design(many, positions: manyLayout.position) == manyTransform.design(many, rows: manyLayout.order.map(Int.init)))
    }

    /// A fit on some blocks of a design, started where another fit on all of them ended,
    /// takes its first evaluation from that fit's block sums: one pass fewer, the same bits.
    @Test func aFitOnSomeBlocksStartsFromAnotherFitsBlockSums() throws {
        let (_, features, labels) = try cdnowFixtureFeatures()
        let design = try FeatureTransform(fitting: features).design(features)
        let n = labels.count, names = ["intercept"] + features.names
        let stretches = [0..<(n / 3), (n / 3)..<(2 * n / 3), (2 * n / 3)..<n]
        let full = try LogisticRegression(penalty: 1).fit(design: design, rows: stretches, labels: labels, weights: nil,
                                                          penaltyScales: nil, start: nil, names: names)
        let partials = try #require(full.partials)
        #expect(partials.beta == full.coefficients)
        let scales = (0..<names.count).map { 1 + 0.1 * Double($0) }
        func fold(_ initial: BlockPartials?) throws -> LogisticFit {
            try LogisticRegression(penalty: 1).fit(design: design, rows: [stretches[0], stretches[2]], labels: labels, weights: nil,
                                                   penaltyScales: scales, start: full.coefficients, initial: initial, names: names)
        }
        let fresh = try fold(nil), shared = try fold(partials)
        #expect(shared.coefficients == fresh.coefficients && shared.objective == fresh.objective)
        #expect(shared.passes == fresh.passes - 1)
        // Sums from another point, or from blocks that do not cover the fit's, are not used.
        var elsewhere = partials
        elsewhere.beta[0] += 0.1
        #expect(try fold(elsewhere).passes == fresh.passes)
        let halves = try LogisticRegression(penalty: 1).fit(design: design, rows: [0..<(n / 2), (n / 2)..<n], labels: labels,
                                                            weights: nil, penaltyScales: nil, start: full.coefficients, names: names)
        var misaligned = try #require(halves.partials)
        misaligned.beta = full.coefficients
        #expect(try fold(misaligned).passes == fresh.passes)
    }

    /// A feature that varies only within one fold is constant on that fold's training
    /// rows: the fold is refused by number, naming the feature and its value as given.
    @Test func aFeatureConstantOutsideOneFoldIsRefusedByFoldAndValue() throws {
        let n = 200
        let labels = (0..<n).map { Double($0 % 3 == 0 ? 1 : 0) }
        let folds = ChurnEvaluation.stratifiedFolds(labels: labels, folds: 4, seed: 3)
        let varying = (0..<n).map { Double($0) }
        let odd = (0..<n).map { folds[$0] == 2 && $0 % 2 == 0 ? 7.25 : 0.1 }
        let features = FeatureMatrix(names: ["varying", "odd"], columns: [varying, odd])
        do {
            _ = try ChurnEvaluation(features: features, labels: labels, purchaseScores: nil, penalty: 1,
                                    classWeights: .none, folds: 4, seed: 3)
            Issue.record("expected the third fold to be refused")
        } catch {
            let message = "\(error)"
            #expect(message.contains("cross-validation fold 3 of 4"))
            #expect(message.contains("odd is 0.1 for every customer"))
        }
    }

    @Test func tooFewCustomersOfAClassForTheFoldsIsRefused() throws {
        let features = FeatureMatrix(names: ["x"], columns: [[1, 2, 3, 4, 5, 6]])
        #expect(throws: ChurnError.self) {
            try ChurnEvaluation(features: features, labels: [1, 1, 0, 0, 0, 0], purchaseScores: nil,
                                penalty: 0, classWeights: .none, folds: 3, seed: 1)
        }
    }
}

/// σ(Xβ) on a whole design.
private func byHandProbabilities(_ design: Matrix, _ beta: [Double]) -> [Double] {
    BLAS.gemv(design, beta).map { 1 / (1 + exp(-$0)) }
}

extension FeatureMatrix {
    /// The rows `rows`, in that order, copied out: the by-hand path the tests compare the
    /// library's in-place `rows:` reading against.
    fileprivate func selecting(_ rows: [Int]) -> FeatureMatrix {
        FeatureMatrix(names: names, columns: columns.map { column in rows.map { column[$0] } })
    }
}
