import Foundation
import LinearAlgebra
import Simulation
import Testing
@testable import Churn

@Suite struct LogisticRegressionTests {
    @Test func unpenalisedFitEqualsStatsmodelsLogitOnCDNOW() throws {
        let (specification, features, labels) = try cdnowFixtureFeatures()
        let references = References.loaded
        #expect(features.names == references.features)
        #expect(labels.count == references.customers && Int(labels.reduce(0, +)) == references.churned)
        let model = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                       penalty: 0, classWeights: .none, timeUnit: "weeks", dataFingerprint: "", clienteleVersion: "test")
        #expect(model.converged)
        #expect(model.coefficients.map(\.name) == ["intercept"] + references.features)
        for (coefficient, expected) in zip(model.coefficients, references.statsmodels.coefficients) {
            #expect(scaledDifference(coefficient.original, expected) < 1e-6, "\(coefficient.name): \(coefficient.original) vs \(expected)")
        }
        for (coefficient, expected) in zip(model.coefficients, references.statsmodels.standard_errors) {
            let standardError = try #require(coefficient.standardError)
            #expect(abs(standardError - expected) / expected < 1e-6, "\(coefficient.name): se \(standardError) vs \(expected)")
            #expect(coefficient.zValue == coefficient.original / standardError)
        }
        #expect(abs(model.logLikelihood - references.statsmodels.log_likelihood) < 1e-6)
    }

    @Test(arguments: References.loaded.sklearn.indices)
    func penalisedFitEqualsScikitLearn(case index: Int) throws {
        let reference = References.loaded.sklearn[index]
        let (specification, features, labels) = try cdnowFixtureFeatures()
        let weights = try #require(ClassWeights(argument: reference.class_weight))
        let model = try ChurnModel.fit(features: features, labels: labels, specification: specification, label: .noHoldoutPurchase,
                                       penalty: 1 / reference.C, classWeights: weights, timeUnit: "weeks", dataFingerprint: "",
                                       clienteleVersion: "test")
        #expect(model.converged)
        for (coefficient, expected) in zip(model.coefficients, reference.coefficients) {
            #expect(scaledDifference(coefficient.standardized, expected) < 1e-6, "C=\(reference.C) \(coefficient.name): \(coefficient.standardized) vs \(expected)")
        }
        // Standard errors only mean something for the unpenalised, unweighted likelihood.
        #expect(model.coefficients.allSatisfy { $0.standardError == nil })
        let metrics = ScoreMetrics(scores: try model.probabilities(features), labels: labels, isProbability: true)
        #expect(abs(metrics.auc - reference.roc_auc) < 1e-6)
        #expect(abs(try #require(metrics.logLoss) - reference.log_loss) < 1e-6)
        #expect(abs(try #require(metrics.brierScore) - reference.brier) < 1e-6)
    }

    /// A feature that alone puts every churner above every retained customer: no maximum.
    @Test func completeSeparationIsRefusedNamingTheFeature() throws {
        var random = SeededRandom(seed: 7)
        let labels = (0..<400).map { _ in random.uniform() < 0.3 ? 1.0 : 0.0 }
        let noise = labels.map { _ in random.standardNormal() }
        let days = labels.map { $0 == 1 ? 30 + 10 * random.uniform() : 20 * random.uniform() }
        let features = FeatureMatrix(names: ["noise", "days_since_last_visit"], columns: [noise, days])
        let transform = try FeatureTransform(fitting: features)
        do {
            _ = try LogisticRegression().fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
            Issue.record("a separated fit must be refused")
        } catch let ChurnError.separation(feature, detail) {
            #expect(feature == "days_since_last_visit")
            #expect(detail.hasPrefix("complete separation: 400 of 400 customers"), "\(detail)")
        }
        // With a penalty the optimum exists, and the fit finds it.
        let fit = try LogisticRegression(penalty: 1).fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
        #expect(fit.converged && fit.coefficients[2] > 3)
    }

    /// One region in which every customer churned: quasi-complete separation by its dummy.
    @Test func quasiCompleteSeparationIsRefusedNamingTheLevel() throws {
        var random = SeededRandom(seed: 11)
        let n = 600
        let region = (0..<n).map { _ in Int(random.uniform() * 3) }
        let spend = (0..<n).map { _ in random.standardNormal() }
        let labels = (0..<n).map { region[$0] == 2 ? 1.0 : (random.uniform() < 1 / (1 + exp(-spend[$0])) ? 1.0 : 0.0) }
        let features = FeatureMatrix(names: ["spend", "region=b", "region=c"],
                                     columns: [spend, region.map { $0 == 1 ? 1.0 : 0.0 }, region.map { $0 == 2 ? 1.0 : 0.0 }])
        let transform = try FeatureTransform(fitting: features)
        #expect(throws: ChurnError.self) {
            try LogisticRegression().fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
        }
        do {
            _ = try LogisticRegression().fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
        } catch let ChurnError.separation(feature, detail) {
            #expect(feature == "region=c")
            #expect(detail.hasPrefix("quasi-complete separation"), "\(detail)")
        }
    }

    /// A column that the earlier ones reproduce to one part in 10⁶ (1 − R² about 10⁻¹²) factors
    /// on every processor (its pivot is some 10⁴ times the rounding of the sums), yet its
    /// coefficient is not identified: refused as collinear. One that departs from them by one
    /// part in 10³ is fitted.
    @Test func aFeatureCollinearUpToATinyResidualIsNamed() throws {
        var random = SeededRandom(seed: 5)
        let x = (0..<400).map { _ in random.standardNormal() }
        let labels = x.map { random.uniform() < 1 / (1 + exp(-$0)) ? 1.0 : 0.0 }
        let other = x.map { _ in random.standardNormal() }
        let noise = x.map { _ in random.standardNormal() }
        func fit(residual: Double) throws -> LogisticFit {
            let features = FeatureMatrix(names: ["frequency", "other", "frequency_in_days"],
                                         columns: [x, other, zip(x, noise).map { 7 * $0 + 2 + residual * $1 }])
            let transform = try FeatureTransform(fitting: features)
            return try LogisticRegression().fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
        }
        #expect(throws: ChurnError.collinear(feature: "frequency_in_days", among: ["frequency", "other"])) { try fit(residual: 7e-6) }
        let separate = try fit(residual: 7e-3)
        #expect(separate.converged && separate.coefficients.allSatisfy(\.isFinite))
    }

    @Test func collinearFeatureIsNamed() throws {
        var random = SeededRandom(seed: 3)
        let x = (0..<300).map { _ in random.standardNormal() }
        let labels = x.map { random.uniform() < 1 / (1 + exp(-$0)) ? 1.0 : 0.0 }
        let features = FeatureMatrix(names: ["frequency", "other", "frequency_in_days"],
                                     columns: [x, x.map { _ in random.standardNormal() }, x.map { 7 * $0 + 2 }])
        let transform = try FeatureTransform(fitting: features)
        #expect(throws: ChurnError.collinear(feature: "frequency_in_days", among: ["frequency", "other"])) {
            try LogisticRegression().fit(design: transform.design(features), labels: labels, names: ["intercept"] + features.names)
        }
    }

    @Test func constantFeatureAndOneClassAreRefused() throws {
        let constant = FeatureMatrix(names: ["x", "country"], columns: [[1, 2, 3], [5, 5, 5]])
        #expect(throws: ChurnError.constantFeature("country", value: 5)) { try FeatureTransform(fitting: constant) }
        let features = FeatureMatrix(names: ["x"], columns: [[1, 2, 3]])
        let design = try FeatureTransform(fitting: features).design(features)
        #expect(throws: ChurnError.oneClass("no customer is churned")) {
            try LogisticRegression().fit(design: design, labels: [0, 0, 0], names: ["intercept", "x"])
        }
    }

    /// Blocks are summed in a fixed order, so a design above the two-thread threshold gives
    /// the same bits as the same rows fitted block by block on one thread would; here: the
    /// same bits twice, and a balanced weighting equal to its hand-made case weights.
    @Test func fitIsDeterministicAndClassWeightsAreCaseWeights() throws {
        var random = SeededRandom(seed: 5)
        let n = 120_000
        let columns = (0..<3).map { _ in (0..<n).map { _ in random.standardNormal() } }
        let labels = (0..<n).map { i in random.uniform() < 1 / (1 + exp(-(0.5 + columns[0][i] - 0.5 * columns[2][i]))) ? 1.0 : 0.0 }
        let features = FeatureMatrix(names: ["a", "b", "c"], columns: columns)
        let design = try FeatureTransform(fitting: features).design(features)
        let names = ["intercept"] + features.names
        let first = try LogisticRegression(penalty: 2).fit(design: design, labels: labels, weights: ClassWeights.balanced.caseWeights(labels), names: names)
        let second = try LogisticRegression(penalty: 2).fit(design: design, labels: labels, weights: ClassWeights.balanced.caseWeights(labels), names: names)
        #expect(first.coefficients == second.coefficients)
        let churners = labels.reduce(0, +)
        let byHand = labels.map { $0 == 1 ? Double(n) / (2 * churners) : Double(n) / (2 * (Double(n) - churners)) }
        let manual = try LogisticRegression(penalty: 2).fit(design: design, labels: labels, weights: byHand, names: names)
        #expect(zip(first.coefficients, manual.coefficients).allSatisfy { abs($0 - $1) < 1e-12 })
        // No weights at all and a column of ones are the same fit, to the bit, with the same
        // evaluations (a large design: the warm start from a sample too), penalised or not.
        for penalty in [0.0, 2] {
            let unweighted = try LogisticRegression(penalty: penalty).fit(design: design, labels: labels, weights: nil, names: names)
            let ones = try LogisticRegression(penalty: penalty).fit(design: design, labels: labels,
                                                                    weights: [Double](repeating: 1, count: n), names: names)
            #expect(unweighted.coefficients == ones.coefficients && unweighted.objective == ones.objective)
            #expect(unweighted.logLikelihood == ones.logLikelihood && unweighted.iterations == ones.iterations)
            #expect(unweighted.covariance == ones.covariance && (penalty > 0 || unweighted.covariance != nil))
            #expect(unweighted.partials?.gradients == ones.partials?.gradients && unweighted.partials?.hessians == ones.partials?.hessians)
        }
        // True slopes per SD are close to 1, 0, −0.5 with 120k customers.
        #expect(abs(first.coefficients[1] - 1) < 0.05 && abs(first.coefficients[2]) < 0.05 && abs(first.coefficients[3] + 0.5) < 0.05)
    }

    /// A large design starts Newton from the fit on every 16th row; the optimum is the one a
    /// cold start from the churn rate reaches, in fewer full-data iterations.
    @Test func warmStartFromASampleReachesTheSameOptimum() throws {
        var random = SeededRandom(seed: 13)
        let n = 210_000
        let columns = (0..<3).map { _ in (0..<n).map { _ in random.standardNormal() } }
        let labels = (0..<n).map { i in random.uniform() < 1 / (1 + exp(-(-0.3 + 0.8 * columns[1][i] + 0.2 * columns[2][i]))) ? 1.0 : 0.0 }
        let features = FeatureMatrix(names: ["a", "b", "c"], columns: columns)
        let design = try FeatureTransform(fitting: features).design(features)
        let names = ["intercept"] + features.names
        let warm = try LogisticRegression().fit(design: design, labels: labels, names: names)
        var coldRegression = LogisticRegression()
        coldRegression.warmStartMinimumRows = .max
        let cold = try coldRegression.fit(design: design, labels: labels, names: names)
        #expect(warm.converged && cold.converged)
        #expect(warm.iterations < cold.iterations, "\(warm.iterations) vs \(cold.iterations)")
        #expect(zip(warm.coefficients, cold.coefficients).allSatisfy { abs($0 - $1) < 1e-9 }, "\(warm.coefficients) vs \(cold.coefficients)")
    }
}
