/// One initialization's working state, reused across initializations: centers, labels, the
/// per-cluster sums, the seeding's squared distances D², and Hamerly's bounds.
///
/// Hamerly's bounds are stored so that a point whose bounds hold costs a read and no write:
/// with Dₐ the distance center a has moved in total and D the total of the largest move per
/// iteration, a point keeps u − D_a and l + D, and its bounds now are the stored values plus
/// D_a and minus D (Hamerly adds the moves one iteration at a time; the sums are the same
/// bounds). They are kept as Floats rounded outwards (u up, l down), so a bound stays a bound
/// and the hot loop reads 12 bytes per point, which for a million points stay in L3 cache.
final class KMeansState {
    let problem: KMeansProblem
    let k: Int
    /// The chunks of `problem` and the threads this state's passes use.
    let work: ChunkedWork
    let centers: UnsafeMutableBufferPointer<Double>
    let centerNorms: UnsafeMutableBufferPointer<Double>
    let labels: UnsafeMutableBufferPointer<Int32>
    let closest: UnsafeMutableBufferPointer<Double>
    let upper: UnsafeMutableBufferPointer<Float>
    let lower: UnsafeMutableBufferPointer<Float>
    /// Above this share of points failing their bounds, the next assignment is a full pass.
    static let fullPassShare = 0.35
    /// Dₐ per center and D, since the last full assignment.
    private var totalDrift: [Double]
    private var totalLargestDrift = 0.0
    /// Per cluster: k × dimension weighted coordinate sums, then k total weights.
    var sums: [Double]
    /// k × chunkSize distances per worker.
    let scratch: UnsafeMutableBufferPointer<Double>
    /// Per worker, Hamerly's points whose bounds failed: their rows, bound and distance pairs,
    /// and the coordinates of those that need all k distances, gathered for one gemm.
    let pendingRows: UnsafeMutableBufferPointer<Int32>
    let pendingValues: UnsafeMutableBufferPointer<Double>
    let gathered: UnsafeMutableBufferPointer<Double>
    /// Per chunk: sums of the same layout, then the count of changed labels.
    let partials: ChunkPartials

    init(problem: KMeansProblem, k: Int, work: ChunkedWork) {
        self.problem = problem
        self.k = k
        self.work = work
        let (n, d) = (problem.count, problem.dimension)
        centers = .allocate(capacity: k * d)
        centerNorms = .allocate(capacity: k)
        labels = .allocate(capacity: n)
        closest = .allocate(capacity: n)
        upper = .allocate(capacity: n)
        lower = .allocate(capacity: n)
        totalDrift = [Double](repeating: 0, count: k)
        sums = [Double](repeating: 0, count: k * d + k)
        scratch = .allocate(capacity: work.workers * k * ChunkedWork.chunkSize)
        pendingRows = .allocate(capacity: work.workers * ChunkedWork.chunkSize)
        pendingValues = .allocate(capacity: work.workers * 2 * ChunkedWork.chunkSize)
        gathered = .allocate(capacity: work.workers * (problem.dimension + 1) * ChunkedWork.chunkSize)
        partials = ChunkPartials(chunks: work.chunkCount, width: k * d + k + 2)
    }

    deinit {
        centers.deallocate(); centerNorms.deallocate(); labels.deallocate()
        closest.deallocate(); upper.deallocate(); lower.deallocate(); scratch.deallocate(); pendingRows.deallocate(); pendingValues.deallocate(); gathered.deallocate(); partials.deallocate()
    }

    /// Iterates from the seeded centers: assign (E), recompute means (M), until no label
    /// changes, the squared movement Σ‖Δc‖² is at most `tolerance`, or `maxIterations`; then,
    /// unless no label changed, one more assignment so that the labels belong to the centers.
    ///
    /// Hamerly's first assignment is a full gemm pass, which sets exact bounds; so is the next
    /// one whenever more than `fullPassShare` of the points failed their bounds, since gathering
    /// that many scattered points costs more than streaming them all (measured on 1M × 6).
    func iterate(algorithm: KMeans.Algorithm, maxIterations: Int, tolerance: Double) -> KMeansSolution {
        let d = problem.dimension
        var iterations = 0
        var converged = false
        var labelsMatchCenters = false
        var previous = Array(centers)
        var failedShare = 0.0
        while iterations < maxIterations {
            let changed: Int
            if algorithm == .lloyd || iterations == 0 || failedShare > Self.fullPassShare {
                changed = assignAll(countingChangesFrom: iterations > 0, boundsToo: algorithm == .hamerly)
                failedShare = 0
            } else {
                (changed, failedShare) = assignWithBounds(drifts: drifts(from: previous))
            }
            iterations += 1
            previous = Array(centers)
            let relocated = updateCenters()
            if changed == 0 && !relocated {
                converged = true
                labelsMatchCenters = true
                break
            }
            var shift = 0.0
            for i in 0..<(k * d) { shift += (centers[i] - previous[i]) * (centers[i] - previous[i]) }
            if shift <= tolerance {
                converged = true
                break
            }
        }
        if !labelsMatchCenters {
            if algorithm == .lloyd {
                _ = assignAll(countingChangesFrom: true, boundsToo: false)
            } else {
                _ = assignWithBounds(drifts: drifts(from: previous))
            }
        }
        return KMeansSolution(centers: Array(centers), inertia: inertia(), iterations: iterations, converged: converged)
    }

    /// Lloyd's assignment: every distance from gemm per chunk, nearest center (the lowest index
    /// among ties), cluster sums recomputed from scratch. With `boundsToo`, also Hamerly's
    /// starting bounds: the distance to the nearest center and to the second nearest.
    @discardableResult
    func assignAll(countingChangesFrom counting: Bool, boundsToo: Bool) -> Int {
        let (d, k) = (problem.dimension, k)
        rowSquaredNorms(centers.baseAddress!, count: k, dimension: d, into: centerNorms.baseAddress!)
        let largestCenterNorm = centerNorms.max() ?? 0
        totalDrift = [Double](repeating: 0, count: k)
        totalLargestDrift = 0
        work.forEachChunk { worker, chunk, range in
            let products = scratch.baseAddress! + worker * k * ChunkedWork.chunkSize
            crossTerms(points: problem.point(range.lowerBound), count: range.count, centers: centers.baseAddress!,
                       centerCount: k, dimension: d, into: products)
            let partial = partials.slot(chunk)
            var changed = 0
            for (p, i) in range.enumerated() {
                let (nearest, best, second) = nearestFromCrossTerms(products + p * k, k, pointNorm: problem.norms[i])
                if counting && labels[i] != Int32(nearest) { changed += 1 }
                labels[i] = Int32(nearest)
                if boundsToo {
                    let slack = expansionSlack(problem.norms[i], largestCenterNorm)
                    upper[i] = roundedUp((best + slack).squareRoot())
                    lower[i] = roundedDown(max(0, second - slack).squareRoot())
                }
                accumulate(point: i, into: nearest, sign: 1, partial)
            }
            partial[k * d + k] = Double(changed)
        }
        let total = partials.total(chunks: work.chunkCount)
        sums = Array(total[0..<(k * d + k)])
        return counting ? Int(total[k * d + k]) : problem.count
    }

    /// Hamerly's assignment (Hamerly 2010, "Making k-means even faster", algorithm 2). With
    /// u ≥ d(x, c_a) and l ≤ the distance to every other center, widened by how far the
    /// centers moved, x keeps its center when u ≤ max(l, s_a), s_a being half the distance from
    /// c_a to its nearest other center; otherwise u is tightened and, if that is not enough, all
    /// k distances are computed. Only points that change cluster touch the sums, as per-chunk
    /// differences added in chunk order.
    ///
    /// A chunk works in three sweeps: list the points whose bounds fail (reading bounds only);
    /// tighten their u in a loop of independent loads, so that the processor waits for many of
    /// these scattered cache misses at once; gather those still failing and take all their
    /// distances from one gemm. Bounds from the gemm expansion are widened by its rounding
    /// error (`expansionSlack`) so that they stay bounds.
    /// Returns the number of labels changed and the share of points whose bounds failed.
    private func assignWithBounds(drifts: [Double]) -> (changed: Int, failedShare: Double) {
        let (d, k) = (problem.dimension, k)
        var halfGaps = [Double](repeating: .infinity, count: k)
        for a in 0..<k {
            for b in 0..<k where b != a {
                let gap = squaredDistance(centers.baseAddress! + a * d, centers.baseAddress! + b * d, d).squareRoot() / 2
                halfGaps[a] = min(halfGaps[a], gap)
            }
        }
        rowSquaredNorms(centers.baseAddress!, count: k, dimension: d, into: centerNorms.baseAddress!)
        let largestCenterNorm = centerNorms.max() ?? 0
        for c in 0..<k { totalDrift[c] += drifts[c] }
        totalLargestDrift += drifts.max() ?? 0
        let largest = totalLargestDrift
        let centers = UnsafePointer(centers.baseAddress!)
        halfGaps.withUnsafeBufferPointer { halfGaps in
            totalDrift.withUnsafeBufferPointer { moved in
                work.forEachChunk { worker, chunk, range in
                    let rows = pendingRows.baseAddress! + worker * ChunkedWork.chunkSize
                    let values = pendingValues.baseAddress! + worker * 2 * ChunkedWork.chunkSize
                    var pending = 0
                    for i in range {
                        let a = Int(labels[i])
                        let bound = max(Double(lower[i]) - largest, halfGaps[a])
                        if Double(upper[i]) + moved[a] > bound {
                            rows[pending] = Int32(i)
                            values[2 * pending] = bound
                            pending += 1
                        }
                    }
                    for p in 0..<pending {
                        let i = Int(rows[p])
                        values[2 * p + 1] = squaredDistance(problem.point(i), centers + Int(labels[i]) * d, d)
                    }
                    let block = gathered.baseAddress! + worker * (d + 1) * ChunkedWork.chunkSize
                    let blockNorms = block + d * ChunkedWork.chunkSize
                    var failing = 0
                    for p in 0..<pending {
                        let i = Int(rows[p])
                        let tight = values[2 * p + 1].squareRoot()
                        if tight <= values[2 * p] {
                            upper[i] = roundedUp(tight - moved[Int(labels[i])])
                        } else {
                            rows[failing] = Int32(i)
                            (block + failing * d).update(from: problem.point(i), count: d)
                            blockNorms[failing] = problem.norms[i]
                            failing += 1
                        }
                    }
                    let products = scratch.baseAddress! + worker * k * ChunkedWork.chunkSize
                    crossTerms(points: block, count: failing, centers: centers, centerCount: k, dimension: d, into: products)
                    let partial = partials.slot(chunk)
                    var changed = 0
                    for p in 0..<failing {
                        let i = Int(rows[p])
                        let (nearest, best, second) = nearestFromCrossTerms(products + p * k, k, pointNorm: blockNorms[p])
                        let slack = expansionSlack(blockNorms[p], largestCenterNorm)
                        upper[i] = roundedUp((best + slack).squareRoot() - moved[nearest])
                        lower[i] = roundedDown(max(0, second - slack).squareRoot() + largest)
                        let a = Int(labels[i])
                        if nearest != a {
                            changed += 1
                            labels[i] = Int32(nearest)
                            accumulate(point: i, into: a, sign: -1, partial)
                            accumulate(point: i, into: nearest, sign: 1, partial)
                        }
                    }
                    partial[k * d + k] = Double(changed)
                    partial[k * d + k + 1] = Double(pending)
                }
            }
        }
        let total = partials.total(chunks: work.chunkCount)
        for j in 0..<(k * d + k) { sums[j] += total[j] }
        return (Int(total[k * d + k]), total[k * d + k + 1] / Double(problem.count))
    }

    @inline(__always)
    private func accumulate(point i: Int, into cluster: Int, sign: Double, _ partial: UnsafeMutablePointer<Double>) {
        let d = problem.dimension
        let w = sign * problem.weight(i)
        let x = problem.point(i)
        let sum = partial + cluster * d
        for j in 0..<d { sum[j] += w * x[j] }
        partial[k * d + cluster] += w
    }

    /// How far each center moved since `previous`.
    private func drifts(from previous: [Double]) -> [Double] {
        let d = problem.dimension
        return previous.withUnsafeBufferPointer { old in
            (0..<k).map { squaredDistance(centers.baseAddress! + $0 * d, old.baseAddress! + $0 * d, d).squareRoot() }
        }
    }

    /// Centers ← cluster means. A cluster left empty takes the point farthest from its own
    /// center instead (scikit-learn's rule), a second empty cluster the next farthest point
    /// that differs from those already taken. Returns whether any cluster was empty.
    private func updateCenters() -> Bool {
        let d = problem.dimension
        var empty: [Int] = []
        for c in 0..<k {
            let weight = sums[k * d + c]
            if weight > 0 {
                for j in 0..<d { centers[c * d + j] = sums[c * d + j] / weight }
            } else {
                empty.append(c)
            }
        }
        guard !empty.isEmpty else { return false }
        var taken: [ArraySlice<Double>] = []
        for i in farthestPoints(count: empty.count * 4 + 4) where taken.count < empty.count {
            let candidate = UnsafeBufferPointer(start: problem.point(i), count: d)
            if !taken.contains(where: { $0.elementsEqual(candidate) }) {
                let c = empty[taken.count]
                (centers.baseAddress! + c * d).update(from: problem.point(i), count: d)
                taken.append(ArraySlice(candidate))
            }
        }
        return true
    }

    /// The `count` points farthest from their centers (ties: lower index first), found per
    /// chunk and merged in chunk order.
    private func farthestPoints(count: Int) -> [Int] {
        let d = problem.dimension
        var perChunk = [[(distance: Double, index: Int)]](repeating: [], count: work.chunkCount)
        perChunk.withUnsafeMutableBufferPointer { perChunk in
            work.forEachChunk { _, chunk, range in
                var kept: [(distance: Double, index: Int)] = []
                for i in range {
                    let distance = squaredDistance(problem.point(i), centers.baseAddress! + Int(labels[i]) * d, d)
                    guard problem.weight(i) > 0, kept.count < count || distance > kept[kept.count - 1].distance else { continue }
                    kept.append((distance, i))
                    kept.sort { $0.distance > $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
                    if kept.count > count { kept.removeLast() }
                }
                perChunk[chunk] = kept
            }
        }
        return perChunk.joined()
            .sorted { $0.distance > $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
            .prefix(count).map(\.index)
    }

    /// Σ w ‖x − c(x)‖² from differences, summed per chunk and then in chunk order.
    private func inertia() -> Double {
        let d = problem.dimension
        work.forEachChunk { _, chunk, range in
            let partial = partials.slot(chunk)
            for i in range {
                partial[0] += problem.weight(i) * squaredDistance(problem.point(i), centers.baseAddress! + Int(labels[i]) * d, d)
            }
        }
        return partials.total(chunks: work.chunkCount)[0]
    }
}

/// The nearest and second nearest of `k` centers, given the distance to `current`; ties keep
/// `current`, then the lower index. Distances are squared. Written with min, max and a select
/// rather than branches: with overlapping clusters which center is nearer is a coin toss that
/// a branch predictor loses about half the time. (The second nearest is min(second,
/// max(value, best)): the old best when the new value wins, else the smaller of the two.)
@inline(__always)
func nearestTwo(_ k: Int, current: Int, distance: Double, _ distanceTo: (Int) -> Double) -> (nearest: Int, best: Double, second: Double) {
    var nearest = current
    var best = distance
    var second = Double.infinity
    for c in 0..<k where c != current {
        let value = distanceTo(c)
        nearest = value < best ? c : nearest
        second = min(second, max(value, best))
        best = min(best, value)
    }
    return (nearest, best, second)
}

extension KMeansState {
    /// The nearest and second nearest centers from a point's −2x·c terms: the smallest
    /// −2x·c + ‖c‖², plus ‖x‖² and clamped at zero to make squared distances.
    @inline(__always)
    func nearestFromCrossTerms(_ products: UnsafePointer<Double>, _ k: Int, pointNorm: Double) -> (nearest: Int, best: Double, second: Double) {
        let norms = centerNorms.baseAddress!
        let (nearest, best, second) = nearestTwo(k, current: 0, distance: products[0] + norms[0]) { products[$0] + norms[$0] }
        return (nearest, max(0, best + pointNorm), max(0, second + pointNorm))
    }
}

/// A bound on the rounding error of ‖x‖² − 2x·c + ‖c‖² (a few units in the last place of
/// the largest term), by which bounds taken from it are widened.
@inline(__always)
func expansionSlack(_ pointNorm: Double, _ centerNorm: Double) -> Double {
    16 * Double.ulpOfOne * (pointNorm + centerNorm)
}

/// The Float at or above x (an upper bound stays one when stored).
@inline(__always)
func roundedUp(_ x: Double) -> Float {
    let f = Float(x)
    return Double(f) < x ? f.nextUp : f
}

/// The Float at or below x.
@inline(__always)
func roundedDown(_ x: Double) -> Float {
    let f = Float(x)
    return Double(f) > x ? f.nextDown : f
}

/// What one initialization reached.
struct KMeansSolution {
    let centers: [Double]
    let inertia: Double
    let iterations: Int
    let converged: Bool
}
