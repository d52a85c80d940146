/// Choosing the number of clusters: k-means at every k of a range (default 2…10), each
/// scored by silhouette (on the deterministic sample), Calinski-Harabasz, Davies-Bouldin and
/// inertia, all kept in the result so that an analyst can overrule the choice.
///
/// The rule: the k with the highest silhouette, except that a smaller k whose silhouette is
/// within `silhouetteTolerance` (0.01) of the best wins, since fewer segments are easier to act
/// on and a difference that small is within the noise of the sample. Silhouette leads because,
/// unlike inertia, it does not improve just by adding clusters and, unlike Calinski-Harabasz,
/// it does not favour large k on big data sets; the other scores are there to check it.
public struct KSelection: Sendable, Codable, Equatable {
    public struct Candidate: Sendable, Codable, Equatable {
        public let k: Int
        public let inertia: Double
        public let silhouette: Double
        public let calinskiHarabasz: Double
        public let daviesBouldin: Double
    }

    public static let defaultRange = 2...10
    public static let silhouetteTolerance = 0.01

    public let candidates: [Candidate]
    public let chosenK: Int
    /// The k-means fit at the chosen k.
    public let fit: KMeansResult

    /// Fits every k of `range` that the data allow (k ≤ distinct points) with `options`
    /// (its `k` is ignored) and picks one by the rule above.
    public init(data: FeatureMatrix, weights: [Double]? = nil, range: ClosedRange<Int> = KSelection.defaultRange,
                options: KMeans.Options) throws {
        guard range.lowerBound >= 2 else {
            throw ClusteringError.invalidArgument("the range of k must start at 2 or more, got \(range.lowerBound)")
        }
        var candidates: [Candidate] = []
        var fits: [KMeansResult] = []
        // One problem (the centred points, their Floats, the distinct rows) for every k.
        var prepared: (problem: KMeansProblem, rowGroups: [Int32]?)?
        for k in range {
            // The scores are defined for fewer clusters than points: the range ends below them.
            guard k < data.count else {
                if fits.isEmpty {
                    throw ClusteringError.invalidArgument("choosing k needs more points than clusters: \(data.count) points for k = \(k) and more")
                }
                break
            }
            var options = options
            options.k = k
            do {
                try KMeans.validate(data, weights: weights, options: options)
            } catch ClusteringError.tooFewDistinctPoints, ClusteringError.tooFewPoints {
                if fits.isEmpty { throw ClusteringError.tooFewDistinctPoints(distinct: k - 1, k: k) }
                break
            }
            if prepared == nil {
                prepared = KMeansProblem.onDistinctRows(data, weights: weights, threads: options.threads,
                                                        merging: options.mergesRepeatedRows)
            }
            let fit = try KMeans.fit(prepared!, featureNames: data.featureNames, options: options)
            try ClusterQuality.check(fit.labels, k: k, points: data.count)
            fits.append(fit)
        }
        // Every k's silhouette on the same sample, from one set of pairwise distances.
        let sample = ClusterQuality.sample(count: data.count, size: ClusterQuality.silhouetteSampleSize, seed: options.seed)
        let silhouettes = ClusterQuality.silhouettes(data, labelings: fits.map { ($0.labels, $0.k) }, rows: sample,
                                                      threads: options.threads)
        for (fit, silhouette) in zip(fits, silhouettes) {
            let quality = ClusterQuality(data: data, labels: fit.labels, k: fit.k, silhouette: silhouette)
            candidates.append(Candidate(k: fit.k, inertia: fit.inertia, silhouette: quality.silhouette,
                                        calinskiHarabasz: quality.calinskiHarabasz, daviesBouldin: quality.daviesBouldin))
        }
        let best = candidates.map(\.silhouette).max()!
        let chosen = candidates.firstIndex { $0.silhouette >= best - Self.silhouetteTolerance }!
        self.candidates = candidates
        chosenK = candidates[chosen].k
        fit = fits[chosen]
    }
}
