/// Synthetic feature rows for clustering tests and benchmarks: `points` rows of `features`
/// values from `clusters` spherical Gaussian clusters of standard deviation `spread`, whose
/// centers are uniform in [−5, 5] per feature and whose members are drawn uniformly. The same
/// seed gives the same rows on every platform.
public struct GaussianMixture: Sendable {
    public let points: Int
    public let features: Int
    /// Row-major: feature j of row i is `values[i * features + j]`.
    public let values: [Double]
    /// The cluster each row was drawn from.
    public let clusters: [Int]

    public init(points: Int, features: Int, clusters: Int, spread: Double = 1.5, seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let centers = (0..<(clusters * features)).map { _ in 10 * random.uniform() - 5 }
        var values = [Double](repeating: 0, count: points * features)
        var members = [Int](repeating: 0, count: points)
        for i in 0..<points {
            let cluster = Int(random.next() % UInt64(clusters))
            members[i] = cluster
            for j in 0..<features { values[i * features + j] = centers[cluster * features + j] + spread * random.standardNormal() }
        }
        self.points = points
        self.features = features
        self.values = values
        self.clusters = members
    }
}
