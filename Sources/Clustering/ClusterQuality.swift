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
/// Pairwise distances and the silhouette's per-cluster sums go through gemm in blocks of 256
/// sample rows, the blocks shared out over the cores.
public struct ClusterQuality: Sendable, Equatable, Codable {
    public let silhouette: Double
    public let calinskiHarabasz: Double
    public let daviesBouldin: Double

    public static let silhouetteSampleSize = 10_000

    /// `threads` caps the worker threads of the silhouette (nil: every core); the scores do
    /// not depend on it.
    public init(data: FeatureMatrix, labels: [Int], k: Int, seed: UInt64 = 0,
                silhouetteSampleSize: Int = ClusterQuality.silhouetteSampleSize, threads: Int? = nil) throws {
        try Self.check(labels, k: k, points: data.count)
        let sample = Self.sample(count: data.count, size: silhouetteSampleSize, seed: seed)
        self.init(data: data, labels: labels, k: k,
                  silhouette: Self.silhouettes(data, labelings: [(labels, k)], rows: sample, threads: threads)[0])
    }

    /// The scores with a silhouette computed already (with those of other labelings), for
    /// labels that passed `check`.
    init(data: FeatureMatrix, labels: [Int], k: Int, silhouette: Double) {
        self.silhouette = silhouette
        (calinskiHarabasz, daviesBouldin) = Self.dispersionScores(data, labels: labels, k: k)
    }

    /// Refuses labels the scores are not defined for.
    static func check(_ labels: [Int], k: Int, points: Int) throws {
        guard labels.count == points, labels.allSatisfy({ $0 >= 0 && $0 < k }) else {
            throw ClusteringError.invalidArgument("labels must be one per row, each in 0..<\(k)")
        }
        let occupied = Set(labels).count
        guard occupied >= 2, occupied < points else {
            throw ClusteringError.invalidArgument("the scores need 2 ≤ clusters < points, got \(occupied) clusters of \(points) points")
        }
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

    /// The silhouettes of several labelings of the same points (one per k when choosing k) on
    /// one sample of rows.
    ///
    /// A point's mean distance to each cluster is a product: with D the sample's distances
    /// (zero on the diagonal) and H the labelings' one-hot columns side by side, D H holds, row
    /// by row, every point's distance sums to every cluster of every labeling. So the distances
    /// and their square roots are made once for all labelings, a block of rows at a time, and
    /// the sums come from one gemm per block. Clientele runs each BLAS call on its caller's
    /// thread, so the blocks go to the cores here.
    static func silhouettes(_ data: FeatureMatrix, labelings: [(labels: [Int], k: Int)], rows: [Int], threads: Int? = nil) -> [Double] {
        let (m, d) = (rows.count, data.dimension)
        var points = [Double](repeating: 0, count: m * d)
        for (r, i) in rows.enumerated() {
            for j in 0..<d { points[r * d + j] = data.values[i * d + j] }
        }
        var norms = [Double](repeating: 0, count: m)
        points.withUnsafeBufferPointer { p in
            norms.withUnsafeMutableBufferPointer { rowSquaredNorms(p.baseAddress!, count: m, dimension: d, into: $0.baseAddress!) }
        }
        // Each labeling's clusters take the columns offset[l] ..< offset[l] + k of H (m × K).
        let offsets = labelings.reduce(into: [0]) { $0.append($0.last! + $1.k) }
        let clusterCount = offsets.last!
        let sampleLabels = labelings.map { labeling in rows.map { labeling.labels[$0] } }
        var clusterSizes = [Int](repeating: 0, count: clusterCount)
        var oneHot = [Double](repeating: 0, count: m * clusterCount)
        for (l, labels) in sampleLabels.enumerated() {
            for (r, label) in labels.enumerated() {
                clusterSizes[offsets[l] + label] += 1
                oneHot[(offsets[l] + label) * m + r] = 1
            }
        }
        // Blocks of 256 rows are shared out over the workers, each with its own distances and
        // sums (256 × m values); a row's score depends on its block only, so the scores do not
        // depend on the number of workers.
        let work = ChunkedWork(points: m, threads: threads, pointsPerChunk: 256)
        let block = work.pointsPerChunk
        let distances = UnsafeMutablePointer<Double>.allocate(capacity: work.workers * block * m)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: work.workers * clusterCount * block)
        let scores = UnsafeMutablePointer<Double>.allocate(capacity: labelings.count * m)
        scores.initialize(repeating: 0, count: labelings.count * m)
        defer { distances.deallocate(); sums.deallocate(); scores.deallocate() }
        let ks = labelings.map(\.k)
        points.withUnsafeBufferPointer { p in
            norms.withUnsafeBufferPointer { norms in
                oneHot.withUnsafeBufferPointer { h in
                    work.forEachChunk { worker, _, rows in
                        let out = distances + worker * block * m
                        let blockSums = sums + worker * clusterCount * block
                        squaredDistances(points: p.baseAddress! + rows.lowerBound * d, pointNorms: norms.baseAddress! + rows.lowerBound,
                                         count: rows.count, centers: p.baseAddress!, centerNorms: norms.baseAddress!,
                                         centerCount: m, dimension: d, into: out, withinParallelPass: false)
                        for (r, i) in rows.enumerated() {
                            let row = out + r * m
                            for other in 0..<m { row[other] = row[other].squareRoot() }
                            row[i] = 0
                        }
                        // sums (K × rows) = Hᵀ (K × m) · distancesᵀ (m × rows), column-major.
                        BLAS.gemm(transposeA: true, transposeB: false, m: clusterCount, n: rows.count, k: m, alpha: 1,
                                  a: h.baseAddress!, lda: m, b: out, ldb: m, beta: 0, c: blockSums, ldc: clusterCount)
                        for (r, i) in rows.enumerated() {
                            for l in ks.indices {
                                let (offset, k) = (offsets[l], ks[l])
                                let own = sampleLabels[l][i]
                                guard clusterSizes[offset + own] > 1 else { continue }
                                let pointSums = blockSums + r * clusterCount + offset
                                let a = pointSums[own] / Double(clusterSizes[offset + own] - 1)
                                var b = Double.infinity
                                for c in 0..<k where c != own && clusterSizes[offset + c] > 0 {
                                    b = min(b, pointSums[c] / Double(clusterSizes[offset + c]))
                                }
                                let spread = max(a, b)
                                scores[l * m + i] = spread > 0 ? (b - a) / spread : 0
                            }
                        }
                    }
                }
            }
        }
        // Each labeling's mean adds its rows in order, whatever the number of workers.
        return ks.indices.map { l in UnsafeBufferPointer(start: scores + l * m, count: m).reduce(0, +) / Double(m) }
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
