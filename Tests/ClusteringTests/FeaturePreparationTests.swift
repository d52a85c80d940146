import Foundation
import Testing
@testable import Clustering

@Suite struct FeaturePreparationTests {
    /// log1p then z-score on the CDNOW summary: k-means there does at least as well as
    /// scikit-learn on the same prepared data.
    @Test(arguments: ["cdnow_scaled_k4", "cdnow_scaled_k8"])
    func cdnowInertiaIsAtMostScikitLearns(_ name: String) throws {
        let reference = try #require(try sklearnCases()[name])
        let fit = try KMeans.fit(try cdnowScaled(), options: .init(k: reference.k, seed: 1, initializations: reference.n_init))
        #expect(fit.inertia <= reference.inertia * (1 + 1e-9), "\(fit.inertia) vs \(reference.inertia)")
    }

    /// [1, 2, 3, 4, 100]: quartiles 2, 3, 4 (linear interpolation), so robust is (x − 3) / 2;
    /// the 0.1 and 0.9 quantiles are 1.4 and 61.6.
    @Test func robustAndWinsorizeUseInterpolatedQuantiles() throws {
        let column = [1.0, 2, 3, 4, 100]
        let robust = try FeaturePreparation(fitting: [.init(name: "x", transforms: [.robust])], to: [column])
        #expect(try robust.prepare([column]).column(0) == [-1, -0.5, 0, 0.5, 48.5])
        let clipped = try FeaturePreparation(fitting: [.init(name: "x", transforms: [.winsorize(lower: 0.1, upper: 0.9)])], to: [column])
        let values = try clipped.prepare([column]).column(0)
        #expect(abs(values[0] - 1.4) < 1e-12 && values[1...3] == [2, 3, 4] && abs(values[4] - 61.6) < 1e-12)
    }

    @Test func centroidsGoBackToOriginalUnits() throws {
        let monetary = [10.0, 20, 35, 400, 52]
        let frequency = [0.0, 1, 3, 2, 7]
        let preparation = try FeaturePreparation(
            fitting: [.init(name: "monetary_value", transforms: [.log1p, .zScore], weight: 4),
                      .init(name: "frequency", transforms: [.robust])],
            to: [monetary, frequency])
        let prepared = try preparation.prepare([monetary, frequency])
        for i in 0..<5 {
            let back = preparation.originalUnits([prepared[i, 0], prepared[i, 1]])
            #expect(relativeDifference(back[0], monetary[i]) < 1e-13)
            #expect(abs(back[1] - frequency[i]) < 1e-13)
        }
        // Weight 4 doubles the z-score, so the feature counts 4 times in squared distances.
        let unweighted = try FeaturePreparation(fitting: [.init(name: "m", transforms: [.log1p, .zScore])], to: [monetary])
        #expect(abs(prepared[3, 0] - 2 * (try unweighted.prepare([monetary]))[3, 0]) < 1e-12)
    }

    @Test func constantFeatureStaysFinite() throws {
        let preparation = try FeaturePreparation(fitting: [.init(name: "x", transforms: [.zScore, .robust])], to: [[5, 5, 5]])
        #expect(try preparation.prepare([[5, 5, 5]]).column(0) == [0, 0, 0])
    }

    /// log1p takes negative values (a mean spend below 0 where refunds outweigh purchases) as
    /// the mirror image of positive ones, keeps their order, and goes back exactly; at 0 and
    /// above it is log(1 + x) itself.
    @Test func log1pMirrorsNegativeValues() throws {
        let values: [Double] = [-1e6, -29.72, -1, -0.5, 0, 0.5, 1, 29.72, 1e6]
        let preparation = try FeaturePreparation(fitting: [.init(name: "m", transforms: [.log1p])], to: [values])
        let prepared = try preparation.prepare([values]).column(0)
        #expect(zip(prepared, prepared.dropFirst()).allSatisfy { $0 < $1 })
        for (x, y) in zip(values, prepared) {
            #expect(y == (x < 0 ? -log1p(-x) : log1p(x)))
            #expect(abs(preparation.originalUnits([y])[0] - x) <= 1e-12 * max(1, abs(x)))
        }
    }

    @Test func badTransformsAreRefused() throws {
        #expect(throws: ClusteringError.self) { try FeatureTransform(parsing: "winsorize:0.9:0.1") }
        #expect(throws: ClusteringError.self) { try FeatureTransform(parsing: "square") }
        #expect(try FeatureTransform(parsing: "winsorise:0.01:0.99") == .winsorize(lower: 0.01, upper: 0.99))
    }

    /// Values near the largest Double: a z-score or a robust scaling would make the column all
    /// 0 (its variance or interquartile range overflows), and untransformed their squared
    /// distances overflow; all are refused.
    @Test func valuesTooLargeForTheArithmeticAreRefused() throws {
        let huge = [1.0, 1e308, -1e308, 2]
        #expect(throws: ClusteringError.invalidArgument(
            "feature \"b\": zscore overflows on values this large (mean 0.5, variance inf); rescale the column first")) {
            try FeaturePreparation.fitted([.init(name: "b", transforms: [.zScore])], to: [huge])
        }
        #expect(throws: ClusteringError.invalidArgument(
            "feature \"b\": robust overflows on values this large (interquartile range inf); rescale the column first")) {
            try FeaturePreparation.fitted([.init(name: "b", transforms: [.robust])], to: [[1e308, 1e308, -1e308, -1e308, 2]])
        }
        let data = try FeatureMatrix(featureNames: ["a", "b"], rowMajor: [1, 1, 1, 1e308, 2, -1e308, 2, 2, 3, 3])
        let overflow = ClusteringError.invalidArgument(
            "the squared distances overflow (inertia inf): the features are too large for k-means as they are; rescale them (zscore) or lower their weights")
        #expect(throws: overflow) { try KMeans.fit(data, options: .init(k: 2, seed: 1)) }
        #expect(throws: overflow) { try KSelection(data: data, range: 2...3, options: .init(k: 2, seed: 1)) }
    }

    /// Fitting and preparing at once (the features side by side on the cores) gives the
    /// preparation and the matrix that fitting, then preparing, gives; an error in one feature
    /// is the first feature's in order; columns of different lengths are refused.
    @Test func fittedPreparesAsPrepareDoes() throws {
        let n = 150_000
        let monetary = (0..<n).map { Double(($0 * 7919) % 1000) / 3 }
        let frequency = (0..<n).map { Double($0 % 13) }
        let recency = (0..<n).map { Double(($0 * 31) % 400) / 7 }
        let specifications: [FeatureSpecification] = [
            .init(name: "monetary", transforms: [.log1p, .zScore], weight: 2),
            .init(name: "frequency", transforms: [.winsorize(lower: 0.05, upper: 0.95), .robust]),
            .init(name: "recency", transforms: [.zScore], weight: 0.5),
        ]
        let columns = [monetary, frequency, recency]
        let (preparation, data) = try FeaturePreparation.fitted(specifications, to: columns)
        let apart = try FeaturePreparation(fitting: specifications, to: columns)
        #expect(preparation == apart)
        #expect(data == (try apart.prepare(columns)))
        #expect(throws: ClusteringError.self) {
            try FeaturePreparation.fitted(specifications, to: [monetary, frequency, Array(recency.dropLast())])
        }
        let bad: [FeatureSpecification] = [.init(name: "a", transforms: [.zScore]), .init(name: "b", transforms: [.robust])]
        do {
            _ = try FeaturePreparation.fitted(bad, to: [(0..<n).map { $0 == 5 ? 1.7e308 : -1.7e308 }, (0..<n).map { $0 % 2 == 0 ? 1.7e308 : -1.7e308 }])
            Issue.record("expected zscore to refuse an overflowing column")
        } catch {
            #expect("\(error)".contains("feature \"a\": zscore overflows"))
        }
    }
}
