import LinearAlgebra
import Simulation

/// Scores of a clustering, as scikit-learn's `sklearn.metrics` computes them (unweighted, on
/// the given data and labels, clusters numbered 0..<k):
/// - silhouette (Rousseeuw 1987): per point s = (b − a) / max(a, b), a being the mean distance
///   to the other points of its cluster and b the smallest mean distance to another cluster's
///   points; 0 for a point alone in its cluster; the mean over points. Higher is better.
///   It needs all pairwise distances, so above `silhouetteSampleSize` points it is computed on
///   a sample drawn without replacement from a seeded generator (scikit-learn's `sample_size`):
///   the same data and seed give the same score.
/// - Calinski-Harabasz (1974): between-cluster dispersion / (k − 1) over within-cluster
///   dispersion / (n − k). Higher is better.
/// - Davies-Bouldin (1979): the mean over clusters of max over others of (Sᵢ + Sⱼ) / ‖cᵢ − cⱼ‖,
///   S being the mean distance of a cluster's points to its centroid. Lower is better.
/// Pairwise distances go through gemm in blocks of 256 sample rows (BLAS may use every core).
public struct ClusterQuality: Sendable, Equatable, Codable {
    public let silhouette: Double
    public let calinskiHarabasz: Double
    public let daviesBouldin: Double

    public static let silhouetteSampleSize = 10_000

    public init(data: FeatureMatrix, labels: [Int], k: Int, seed: UInt64 = 0,
                silhouetteSampleSize: Int = ClusterQuality.silhouetteSampleSize) throws {
        guard labels.count == data.count, labels.allSatisfy({ $0 >= 0 && $0 < k }) else {
            throw ClusteringError.invalidArgument("labels must be one per row, each in 0..<\(k)")
        }
        let occupied = Set(labels).count
        guard occupied >= 2, occupied < data.count else {
            throw ClusteringError.invalidArgument("the scores need 2 ≤ clusters < points, got \(occupied) clusters of \(data.count) points")
        }
        let sample = Self.sample(count: data.count, size: silhouetteSampleSize, seed: seed)
        silhouette = Self.silhouette(data, labels: labels, rows: sample, k: k)
        (calinskiHarabasz, daviesBouldin) = Self.dispersionScores(data, labels: labels, k: k)
    }

    /// Every row when there are at most `size`, else `size` rows drawn without replacement
    /// (a partial Fisher–Yates shuffle), in increasing order.
    static func sample(count: Int, size: Int, seed: UInt64) -> [Int] {
        guard count > size else { return Array(0..<count) }
        var random = SeededRandom(seed: seed)
        var indices = Array(0..<count)
        for i in 0..<size {
            indices.swapAt(i, i + Int(random.next() % UInt64(count - i)))
        }
        return indices[0..<size].sorted()
    }

    private static func silhouette(_ data: FeatureMatrix, labels: [Int], rows: [Int], k: Int) -> Double {
        let (m, d) = (rows.count, data.dimension)
        var points = [Double](repeating: 0, count: m * d)
        for (r, i) in rows.enumerated() {
            for j in 0..<d { points[r * d + j] = data.values[i * d + j] }
        }
        let sampleLabels = rows.map { labels[$0] }
        var clusterSizes = [Int](repeating: 0, count: k)
        for label in sampleLabels { clusterSizes[label] += 1 }
        var norms = [Double](repeating: 0, count: m)
        points.withUnsafeBufferPointer { p in
            norms.withUnsafeMutableBufferPointer { rowSquaredNorms(p.baseAddress!, count: m, dimension: d, into: $0.baseAddress!) }
        }
        let block = 256
        var scores = [Double](repeating: 0, count: m)
        var distances = [Double](repeating: 0, count: block * m)
        var sums = [Double](repeating: 0, count: k)
        points.withUnsafeBufferPointer { p in
            norms.withUnsafeBufferPointer { norms in
                for start in stride(from: 0, to: m, by: block) {
                    let rowsInBlock = min(block, m - start)
                    distances.withUnsafeMutableBufferPointer { out in
                        squaredDistances(points: p.baseAddress! + start * d, pointNorms: norms.baseAddress! + start, count: rowsInBlock,
                                         centers: p.baseAddress!, centerNorms: norms.baseAddress!, centerCount: m,
                                         dimension: d, into: out.baseAddress!, withinParallelPass: false)
                    }
                    for r in 0..<rowsInBlock {
                        let own = sampleLabels[start + r]
                        guard clusterSizes[own] > 1 else { continue }
                        for c in 0..<k { sums[c] = 0 }
                        for other in 0..<m where other != start + r {
                            sums[sampleLabels[other]] += distances[r * m + other].squareRoot()
                        }
                        let a = sums[own] / Double(clusterSizes[own] - 1)
                        var b = Double.infinity
                        for c in 0..<k where c != own && clusterSizes[c] > 0 { b = min(b, sums[c] / Double(clusterSizes[c])) }
                        let spread = max(a, b)
                        scores[start + r] = spread > 0 ? (b - a) / spread : 0
                    }
                }
            }
        }
        return scores.reduce(0, +) / Double(m)
    }

    private static func dispersionScores(_ data: FeatureMatrix, labels: [Int], k: Int) -> (Double, Double) {
        let (n, d) = (data.count, data.dimension)
        var centroids = [Double](repeating: 0, count: k * d)
        var sizes = [Double](repeating: 0, count: k)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            sizes[labels[i]] += 1
            for j in 0..<d {
                centroids[labels[i] * d + j] += data.values[i * d + j]
                mean[j] += data.values[i * d + j]
            }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        for c in 0..<k where sizes[c] > 0 { for j in 0..<d { centroids[c * d + j] /= sizes[c] } }
        var within = 0.0
        var spread = [Double](repeating: 0, count: k)
        for i in 0..<n {
            var squared = 0.0
            for j in 0..<d {
                let difference = data.values[i * d + j] - centroids[labels[i] * d + j]
                squared += difference * difference
            }
            within += squared
            spread[labels[i]] += squared.squareRoot()
        }
        var between = 0.0
        for c in 0..<k {
            for j in 0..<d { between += sizes[c] * (centroids[c * d + j] - mean[j]) * (centroids[c * d + j] - mean[j]) }
        }
        let occupied = (0..<k).filter { sizes[$0] > 0 }
        let calinskiHarabasz = within == 0 ? 1 : between * Double(n - occupied.count) / (within * Double(occupied.count - 1))
        for c in occupied { spread[c] /= sizes[c] }
        var daviesBouldin = 0.0
        for a in occupied {
            var worst = 0.0
            for b in occupied where b != a {
                var squared = 0.0
                for j in 0..<d { squared += (centroids[a * d + j] - centroids[b * d + j]) * (centroids[a * d + j] - centroids[b * d + j]) }
                let separation = squared.squareRoot()
                // Coincident centroids count as infinitely far apart, as in scikit-learn.
                worst = max(worst, separation > 0 ? (spread[a] + spread[b]) / separation : 0)
            }
            daviesBouldin += worst
        }
        return (calinskiHarabasz, daviesBouldin / Double(occupied.count))
    }
}
