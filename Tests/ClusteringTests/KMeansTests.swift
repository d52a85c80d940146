import Testing
@testable import Clustering

@Suite struct KMeansTests {
    @Test(arguments: ["blobs_k5", "blobs_k8", "iris_k3", "iris_k6", "weighted_k4", "one_feature_k3"])
    func inertiaIsAtMostScikitLearns(_ name: String) throws {
        let reference = try #require(try sklearnCases()[name])
        let (data, weights) = try fixtureData(reference.data)
        for algorithm in [KMeans.Algorithm.lloyd, .hamerly] {
            let fit = try KMeans.fit(data, weights: weights,
                                     options: .init(k: reference.k, seed: 1, initializations: reference.n_init, algorithm: algorithm))
            #expect(fit.inertia <= reference.inertia * (1 + 1e-9), "\(name) \(algorithm): \(fit.inertia) vs \(reference.inertia)")
            print(name, algorithm, fit.inertia, reference.inertia, fit.iterations, reference.n_iter)
        }
    }
}
