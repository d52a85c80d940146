import Foundation
import Testing
import Simulation
@testable import Clustering

/// Silhouette, Calinski-Harabasz and Davies-Bouldin against sklearn.metrics on scikit-learn's
/// own labels, and the choice of k.
@Suite struct ClusterQualityTests {
    @Test(arguments: ["blobs_k5", "blobs_k8", "iris_k3", "iris_k6", "one_feature_k3"])
    func scoresEqualScikitLearns(_ name: String) throws {
        let reference = try #require(try sklearnCases()[name])
        let (data, _) = try fixtureData(reference.data)
        let quality = try ClusterQuality(data: data, labels: reference.labels, k: reference.k)
        #expect(relativeDifference(quality.silhouette, try #require(reference.silhouette)) < 1e-9)
        #expect(relativeDifference(quality.calinskiHarabasz, try #require(reference.calinski_harabasz)) < 1e-9)
        #expect(relativeDifference(quality.daviesBouldin, try #require(reference.davies_bouldin)) < 1e-9)
    }

    @Test func cdnowScoresEqualScikitLearns() throws {
        let reference = try #require(try sklearnCases()["cdnow_scaled_k4"])
        let data = try cdnowScaled()
        let quality = try ClusterQuality(data: data, labels: reference.labels, k: 4)
        #expect(relativeDifference(quality.silhouette, try #require(reference.silhouette)) < 1e-9)
        #expect(relativeDifference(quality.calinskiHarabasz, try #require(reference.calinski_harabasz)) < 1e-9)
        #expect(relativeDifference(quality.daviesBouldin, try #require(reference.davies_bouldin)) < 1e-9)
    }

    @Test func silhouetteSampleIsDeterministic() throws {
        let sample = ClusterQuality.sample(count: 50_000, size: 1000, seed: 4)
        #expect(sample == ClusterQuality.sample(count: 50_000, size: 1000, seed: 4))
        #expect(sample != ClusterQuality.sample(count: 50_000, size: 1000, seed: 5))
        #expect(Set(sample).count == 1000 && sample == sample.sorted() && sample.last! < 50_000)
        #expect(ClusterQuality.sample(count: 30, size: 1000, seed: 4) == Array(0..<30))
        let data = mixture(points: 12_000, features: 2, clusters: 3, seed: 8)
        let fit = try KMeans.fit(data, options: .init(k: 3, seed: 1, initializations: 2))
        let first = try ClusterQuality(data: data, labels: fit.labels, k: 3, seed: 1, silhouetteSampleSize: 2000)
        let again = try ClusterQuality(data: data, labels: fit.labels, k: 3, seed: 1, silhouetteSampleSize: 2000)
        #expect(first == again)
    }

    /// Five blobs, two of which overlap: every k from 2 to 10 is scored and the rule picks 4,
    /// as scikit-learn's silhouette does on its own fits (0.70 at k = 4, 0.50 at k = 5).
    @Test func automaticKFindsTheBlobs() throws {
        let (data, _) = try fixtureData("blobs.csv")
        let selection = try KSelection(data: data, options: .init(k: 2, seed: 3))
        #expect(selection.candidates.map(\.k) == Array(2...10))
        let best = selection.candidates.map(\.silhouette).max()!
        let expected = selection.candidates.first { $0.silhouette >= best - KSelection.silhouetteTolerance }!.k
        #expect(selection.chosenK == expected)
        #expect(selection.chosenK == 4)
        #expect(selection.fit.k == 4)
        #expect(abs(selection.candidates[2].silhouette - 0.7045) < 1e-4)
        #expect(zip(selection.candidates, selection.candidates.dropFirst()).allSatisfy { $0.inertia > $1.inertia })
    }

    /// Four distinct points: the silhouette needs fewer clusters than points, so the default
    /// range 2…10 is tried up to k = 3; two points leave no k at all.
    @Test func choosingKStopsBelowTheNumberOfPoints() throws {
        let data = try FeatureMatrix(featureNames: ["a", "b"], rowMajor: [1, 1, 5, 2, 2, 9, 3, 3])
        let selection = try KSelection(data: data, options: .init(k: 2, seed: 1))
        #expect(selection.candidates.map(\.k) == [2, 3])
        #expect(throws: ClusteringError.invalidArgument("choosing k needs more points than clusters: 2 points for k = 2 and more")) {
            try KSelection(data: try FeatureMatrix(featureNames: ["a"], rowMajor: [1, 2]), options: .init(k: 2, seed: 1))
        }
    }

    /// Choosing k computes every k's silhouette from one set of distances; each equals the
    /// definition worked point by point (distances from differences, means per cluster).
    @Test func everyKsSilhouetteEqualsTheDefinition() throws {
        let mixture = GaussianMixture(points: 1000, features: 3, clusters: 4, seed: 9)
        let data = try FeatureMatrix(featureNames: ["a", "b", "c"], rowMajor: mixture.values)
        let selection = try KSelection(data: data, range: 2...5, options: .init(k: 2, seed: 1))
        for candidate in selection.candidates {
            let labels = try KMeans.fit(data, options: .init(k: candidate.k, seed: 1)).labels
            var total = 0.0
            for i in 0..<data.count {
                var sums = [Double](repeating: 0, count: candidate.k), sizes = [Double](repeating: 0, count: candidate.k)
                for j in 0..<data.count {
                    sizes[labels[j]] += 1
                    guard j != i else { continue }
                    sums[labels[j]] += (0..<3).reduce(0.0) { $0 + pow(data.values[i * 3 + $1] - data.values[j * 3 + $1], 2) }.squareRoot()
                }
                guard sizes[labels[i]] > 1 else { continue }
                let a = sums[labels[i]] / (sizes[labels[i]] - 1)
                let b = (0..<candidate.k).filter { $0 != labels[i] }.map { sums[$0] / sizes[$0] }.min()!
                total += (b - a) / max(a, b)
            }
            #expect(abs(candidate.silhouette - total / Double(data.count)) < 1e-9, "k = \(candidate.k)")
        }
        // The four blocks of 256 rows shared over 1, 2 or 3 workers give the same bits.
        let labelings = try (2...4).map { k in (labels: try KMeans.fit(data, options: .init(k: k, seed: 1)).labels, k: k) }
        let rows = Array(0..<data.count)
        let alone = ClusterQuality.silhouettes(data, labelings: labelings, rows: rows, threads: 1)
        for threads in [2, 3] {
            #expect(ClusterQuality.silhouettes(data, labelings: labelings, rows: rows, threads: threads) == alone)
        }
    }

    /// Every k shares one problem (centred points, Floats, distinct rows): each k's fit is,
    /// to the bit, the fit of that k alone, on data with repeated rows as on data without.
    @Test func everyKsFitIsTheFitOfThatKAlone() throws {
        let mixture = GaussianMixture(points: 600, features: 2, clusters: 3, seed: 4)
        let repeated = try FeatureMatrix(featureNames: ["a", "b"], rowMajor: (0..<1800).flatMap { i in
            Array(mixture.values[((i % 600) * 2)..<((i % 600) * 2 + 2)])
        })
        for data in [try FeatureMatrix(featureNames: ["a", "b"], rowMajor: mixture.values), repeated] {
            let weights = (0..<data.count).map { Double(1 + $0 % 2) }
            let selection = try KSelection(data: data, weights: weights, range: 2...4, options: .init(k: 2, seed: 6, initializations: 2))
            let alone = try KMeans.fit(data, weights: weights, options: .init(k: selection.chosenK, seed: 6, initializations: 2))
            #expect(selection.fit == alone)
            for candidate in selection.candidates {
                #expect(candidate.inertia == (try KMeans.fit(data, weights: weights,
                                                             options: .init(k: candidate.k, seed: 6, initializations: 2))).inertia)
            }
        }
    }

    @Test func automaticKStopsAtTheDistinctPoints() throws {
        // Four distinct values: k = 5…10 cannot be fitted and are left out.
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [1, 1, 2, 5, 5, 9, 9])
        let selection = try KSelection(data: data, options: .init(k: 2))
        #expect(selection.candidates.map(\.k) == [2, 3, 4])
    }
}

/// The CDNOW summary of the fixtures, through log1p and then z-score, as make_fixtures.py does.
func cdnowScaled() throws -> FeatureMatrix {
    let (header, rows) = try readFixtureCSV("cdnow_features.csv")
    let columns = header.indices.map { j in rows.map { $0[j] } }
    let preparation = try FeaturePreparation(
        fitting: header.map { FeatureSpecification(name: $0, transforms: [.log1p, .zScore]) }, to: columns)
    return try preparation.prepare(columns)
}
