import CClusteringKernels
import LinearAlgebra

/// One initialization's working state, reused across initializations: centers, labels, the
/// per-cluster sums, the seeding's squared distances D², and Hamerly's bounds.
///
/// Every assignment finds nearest centers in single precision and certifies them
/// (`SinglePrecisionPoints`), so Lloyd's and Hamerly's passes give the labels double precision
/// would give. Their point-to-center products come from sgemm, a block of at most `gemmRows`
/// points at a time into a per-worker scratch that stays in the L1 cache, never an n × k
/// matrix for all points. The cluster sums are taken from the Doubles on the first pass and
/// afterwards changed only by the points that move, in point order within each chunk and chunk
/// order across chunks; the two algorithms therefore compute the same iterations bit for bit.
///
/// Hamerly's bounds are stored so that a point whose bounds hold costs a read and no write:
/// with Dₐ the distance center a has moved in total and D the total of the largest move per
/// iteration, a point keeps u − D_a and l + D, and its bounds now are the stored values plus
/// D_a and minus D (Hamerly adds the moves one iteration at a time; the sums are the same
/// bounds). They are kept as Floats rounded outwards (u up, l down), so a bound stays a bound
/// and the hot loop reads 12 bytes per point.
final class KMeansState {
    let problem: KMeansProblem
    let k: Int
    /// The chunks of `problem` and the threads this state's passes use.
    let work: ChunkedWork
    let centers: UnsafeMutableBufferPointer<Double>
    private var singleCenters: SinglePrecisionCenters
    let labels: UnsafeMutableBufferPointer<Int32>
    /// The seeding's D², one per point and padding to whole chunks.
    let closest: UnsafeMutableBufferPointer<Float>
    let upper: UnsafeMutableBufferPointer<Float>
    let lower: UnsafeMutableBufferPointer<Float>
    /// Above this share of points failing their bounds, the next assignment is a full pass.
    static let fullPassShare = 0.35
    /// Dₐ per center and D, since the last full assignment.
    private var totalDrift: [Double]
    private var totalLargestDrift = 0.0
    /// Per cluster: k × dimension weighted coordinate sums, k total weights, and k counts of
    /// points of positive weight (which say whether a cluster is empty, exactly, however
    /// many weights were added and taken away).
    var sums: [Double]
    private var sumsWidth: Int { k * problem.dimension + 2 * k }
    /// Points per sgemm: as many of a chunk's as keep the products within 16 KiB, half a 32 KiB
    /// L1 data cache, so that the selection loop reads them where the gemm left them (on 1M ×
    /// 6, k = 8, an iteration took 3.0 ms with 512 points per gemm, 3.2 with 256, 3.6 with
    /// 1024, whose 32 KiB of products fill L1), and one gemm within 65536 multiply-adds, below
    /// the size at which OpenBLAS starts threads of its own inside a parallel pass (see
    /// `squaredDistances`); 8 at the least, a multiple of 8, the chunk shared out evenly.
    let gemmRows: Int
    /// Per worker, ‖c‖² − 2x·c of one gemm's points: gemmRows × k, column-major.
    let products: UnsafeMutableBufferPointer<Float>
    /// Per worker, the single-precision nearest two of a chunk's points: index and the two
    /// Float values of ‖c‖² − 2x·c.
    let nearestScratch: UnsafeMutableBufferPointer<Int32>
    let distanceScratch: UnsafeMutableBufferPointer<Float>
    let certifiedScratch: UnsafeMutableBufferPointer<Bool>
    /// Per worker, Hamerly's points whose bounds failed: their rows, and their Float
    /// coordinates gathered into a column-major matrix like a chunk's.
    let pendingRows: UnsafeMutableBufferPointer<Int32>
    let gathered: UnsafeMutableBufferPointer<Float>
    /// Per worker, the Doubles of the points a Lloyd pass moves between clusters.
    let movingCoordinates: UnsafeMutableBufferPointer<Double>
    /// Per chunk: sums of the same layout, then the count of changed labels and of points
    /// whose bounds failed.
    let partials: ChunkPartials

    init(problem: KMeansProblem, k: Int, work: ChunkedWork) {
        self.problem = problem
        self.k = k
        self.work = work
        let (n, d, chunk) = (problem.count, problem.dimension, ChunkedWork.chunkSize)
        centers = .allocate(capacity: k * d)
        singleCenters = SinglePrecisionCenters(capacity: k, dimension: d)
        labels = .allocate(capacity: n)
        closest = .allocate(capacity: problem.singles.paddedCount)
        upper = .allocate(capacity: n)
        lower = .allocate(capacity: n)
        totalDrift = [Double](repeating: 0, count: k)
        sums = [Double](repeating: 0, count: k * d + 2 * k)
        let largestRows = max(8, min(4096 / k, 65536 / max(1, k * d)) / 8 * 8)
        let gemmsPerChunk = (chunk + largestRows - 1) / largestRows
        gemmRows = ((chunk + gemmsPerChunk - 1) / gemmsPerChunk + 7) / 8 * 8
        products = .allocate(capacity: work.workers * gemmRows * k)
        products.initialize(repeating: 0)
        nearestScratch = .allocate(capacity: work.workers * chunk)
        distanceScratch = .allocate(capacity: work.workers * 2 * chunk)
        certifiedScratch = .allocate(capacity: work.workers * chunk)
        pendingRows = .allocate(capacity: work.workers * chunk)
        gathered = .allocate(capacity: work.workers * d * chunk)
        gathered.initialize(repeating: 0)
        movingCoordinates = .allocate(capacity: work.workers * d * chunk)
        partials = ChunkPartials(chunks: work.chunkCount, width: k * d + 2 * k + 2)
    }

    deinit {
        centers.deallocate(); singleCenters.deallocate(); labels.deallocate(); closest.deallocate()
        upper.deallocate(); lower.deallocate(); products.deallocate(); nearestScratch.deallocate(); distanceScratch.deallocate()
        certifiedScratch.deallocate()
        pendingRows.deallocate(); gathered.deallocate(); movingCoordinates.deallocate(); partials.deallocate()
    }

    /// Iterates from the seeded centers: assign (E), recompute means (M), until no label
    /// changes, the squared movement Σ‖Δc‖² is at most `tolerance`, or `maxIterations`; then,
    /// unless no label changed, one more assignment so that the labels belong to the centers.
    ///
    /// Hamerly's first assignment is a full pass, which sets exact bounds; so is the next one
    /// whenever more than `fullPassShare` of the points failed their bounds, since gathering
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
                assignAll(countingChangesFrom: true, boundsToo: false)
            } else {
                _ = assignWithBounds(drifts: drifts(from: previous))
            }
        }
        return KMeansSolution(centers: Array(centers), inertia: inertia(), iterations: iterations, converged: converged)
    }

    /// Lloyd's assignment: every point's nearest center (the lowest index among ties). Without
    /// `counting` the cluster sums are computed afresh; with it, labels are compared with the
    /// previous ones and only the points that changed move between sums. With `boundsToo`,
    /// also Hamerly's starting bounds: the distance to the nearest center and to the second.
    @discardableResult
    func assignAll(countingChangesFrom counting: Bool, boundsToo: Bool) -> Int {
        let width = sumsWidth
        prepareSingleCenters()
        totalDrift = [Double](repeating: 0, count: k)
        totalLargestDrift = 0
        if !boundsToo {
            // A first pass starts every point in no cluster, so that all of them move in.
            if !counting { labels.update(repeating: -1) }
            let changed = relabel(fresh: !counting)
            return counting ? changed : problem.count
        }
        work.forEachChunk { worker, chunk, range in
            let found = findNearestTwo(worker: worker, count: range.count,
                                       points: problem.singles.chunk(startingAt: range.lowerBound))
            let partial = partials.slot(chunk)
            var changed = 0
            for (p, i) in range.enumerated() {
                let (nearest, best, second, slack) = resolve(i, found, p)
                upper[i] = roundedUp((best + slack).squareRoot())
                lower[i] = roundedDown(max(0, second - slack).squareRoot())
                if counting {
                    if reassign(point: i, to: nearest, partial) { changed += 1 }
                } else {
                    accumulate(problem.point(i), weight: problem.weight(i), into: nearest, sign: 1, partial)
                    labels[i] = Int32(nearest)
                }
            }
            partial[width] = Double(changed)
        }
        let total = partials.total(chunks: work.chunkCount)
        if counting {
            for j in 0..<width { sums[j] += total[j] }
        } else {
            sums = Array(total[0..<width])
        }
        return counting ? Int(total[width]) : problem.count
    }

    /// Lloyd's assignment: per block of a chunk, sgemm gives the products and the
    /// single-precision pass (CClusteringKernels) lists the points whose label changes or whose
    /// certificate fails; only those are handled one by one. `fresh`: the labels are all −1
    /// and the sums are computed afresh. Returns the number of labels changed.
    private func relabel(fresh: Bool) -> Int {
        let (d, k, width, chunkSize) = (problem.dimension, k, sumsWidth, ChunkedWork.chunkSize)
        let marginScale = singleCenters.holdDistances ? SinglePrecisionPoints.kernelMarginScale(dimension: d) : .infinity
        let largestNorm = Float(singleCenters.largestNorm).nextUp
        work.forEachChunk { worker, chunk, range in
            let offsets = pendingRows.baseAddress! + worker * chunkSize
            let nearest = nearestScratch.baseAddress! + worker * chunkSize
            let certified = certifiedScratch.baseAddress! + worker * chunkSize
            var exceptions = 0
            forEachProductBlock(worker: worker, points: problem.singles.chunk(startingAt: range.lowerBound),
                                count: range.count) { first, rows, products in
                let listed = clientele_kmeans_relabel(products, gemmRows, problem.singles.norms + range.lowerBound + first,
                                                      rows, d, k, largestNorm, marginScale,
                                                      labels.baseAddress! + range.lowerBound + first, offsets + exceptions,
                                                      nearest + exceptions, certified + exceptions)
                for e in exceptions..<(exceptions + listed) { offsets[e] += Int32(first) }
                exceptions += listed
            }
            // Two sweeps over the points that move: copy their Doubles (loads independent of
            // each other, so that their cache misses overlap), then add them to the sums. In a
            // fresh pass every point moves and is read in order, with nothing to overlap.
            let coordinates = movingCoordinates.baseAddress! + worker * d * chunkSize
            var moving = 0
            for e in 0..<exceptions {
                let i = range.lowerBound + Int(offsets[e])
                let to = certified[e] ? nearest[e] : Int32(exactNearestTwo(i).nearest)
                guard to != labels[i] else { continue }
                offsets[moving] = Int32(i)
                nearest[moving] = to
                if !fresh {
                    let x = problem.point(i)
                    for j in 0..<d { coordinates[moving * d + j] = x[j] }
                }
                moving += 1
            }
            let partial = partials.slot(chunk)
            for m in 0..<moving {
                let (i, to) = (Int(offsets[m]), Int(nearest[m]))
                let x = fresh ? problem.point(i) : UnsafePointer(coordinates + m * d)
                if labels[i] >= 0 { accumulate(x, weight: problem.weight(i), into: Int(labels[i]), sign: -1, partial) }
                accumulate(x, weight: problem.weight(i), into: to, sign: 1, partial)
                labels[i] = Int32(to)
            }
            partial[width] = Double(moving)
        }
        let total = partials.total(chunks: work.chunkCount)
        if fresh {
            sums = Array(total[0..<width])
        } else {
            for j in 0..<width { sums[j] += total[j] }
        }
        return Int(total[width])
    }

    /// Hamerly's assignment (Hamerly 2010, "Making k-means even faster", algorithm 2). With
    /// u ≥ d(x, c_a) and l ≤ the distance to every other center, widened by how far the
    /// centers moved, x keeps its center when u ≤ max(l, s_a), s_a being half the distance from
    /// c_a to its nearest other center; otherwise all k distances are computed, which also
    /// makes both bounds tight. Only points that change cluster touch the sums.
    ///
    /// A chunk works in two sweeps: list the points whose bounds fail, reading bounds only,
    /// and gather their Float coordinates into a matrix (loads independent of each other, so
    /// the processor waits for many of these scattered cache misses at once); then find the
    /// nearest two of the gathered points as a full pass would, through sgemm (on 1M × 6,
    /// k = 8, the forced-Hamerly fit took 4.3 s of CPU, against 5.0 s with the former
    /// distances by differences).
    /// Returns the number of labels changed and the share of points whose bounds failed.
    private func assignWithBounds(drifts: [Double]) -> (changed: Int, failedShare: Double) {
        let (d, k, width) = (problem.dimension, k, sumsWidth)
        var halfGaps = [Double](repeating: .infinity, count: k)
        for a in 0..<k {
            for b in 0..<k where b != a {
                let gap = squaredDistance(centers.baseAddress! + a * d, centers.baseAddress! + b * d, d).squareRoot() / 2
                halfGaps[a] = min(halfGaps[a], gap)
            }
        }
        prepareSingleCenters()
        for c in 0..<k { totalDrift[c] += drifts[c] }
        totalLargestDrift += drifts.max() ?? 0
        let largest = totalLargestDrift
        halfGaps.withUnsafeBufferPointer { halfGaps in
            totalDrift.withUnsafeBufferPointer { moved in
                work.forEachChunk { worker, chunk, range in
                    let rows = pendingRows.baseAddress! + worker * ChunkedWork.chunkSize
                    let block = gathered.baseAddress! + worker * d * ChunkedWork.chunkSize
                    var pending = 0
                    for i in range {
                        let a = Int(labels[i])
                        let bound = max(Double(lower[i]) - largest, halfGaps[a])
                        if Double(upper[i]) + moved[a] > bound {
                            rows[pending] = Int32(i)
                            problem.singles.copy(point: i, to: block, row: pending)
                            pending += 1
                        }
                    }
                    let found = findNearestTwo(worker: worker, count: pending, points: UnsafePointer(block))
                    let partial = partials.slot(chunk)
                    var changed = 0
                    for p in 0..<pending {
                        let i = Int(rows[p])
                        let (nearest, best, second, slack) = resolve(i, found, p)
                        upper[i] = roundedUp((best + slack).squareRoot() - moved[nearest])
                        lower[i] = roundedDown(max(0, second - slack).squareRoot() + largest)
                        if reassign(point: i, to: nearest, partial) { changed += 1 }
                    }
                    partial[width] = Double(changed)
                    partial[width + 1] = Double(pending)
                }
            }
        }
        let total = partials.total(chunks: work.chunkCount)
        for j in 0..<width { sums[j] += total[j] }
        return (Int(total[width]), total[width + 1] / Double(problem.count))
    }

    private func prepareSingleCenters() {
        singleCenters.update(from: centers.baseAddress!, count: k, dimension: problem.dimension,
                             largestPointCoordinate: problem.largestCoordinate)
    }

    /// Calls `body(first, rows, products)` for consecutive blocks of at most `gemmRows`
    /// of the `count` points of the column-major matrix at `points` (leading dimension
    /// `chunkRows`), `products` being the block's ‖c‖² − 2x·c from one sgemm in `worker`'s
    /// scratch (leading dimension `gemmRows`). The sgemm adds −2x·c to the centers' norms
    /// written in first (β = 1): the same rounding as adding ‖c‖² to the product afterwards,
    /// as x·c is summed whole before it is added, and it spares OpenBLAS's zeroing of the
    /// block for β = 0, which took more of the 1M job's samples (3%) than the product itself.
    @inline(__always)
    private func forEachProductBlock(worker: Int, points: UnsafePointer<Float>, count: Int,
                                     _ body: (_ first: Int, _ rows: Int, _ products: UnsafePointer<Float>) -> Void) {
        let products = self.products.baseAddress! + worker * gemmRows * k
        for first in stride(from: 0, to: count, by: gemmRows) {
            let rows = min(gemmRows, count - first)
            for c in 0..<k { (products + c * gemmRows).update(repeating: singleCenters.norms[c], count: rows) }
            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: k, k: problem.dimension, alpha: 1,
                      a: points + first, lda: SinglePrecisionPoints.chunkRows, b: singleCenters.scaled, ldb: problem.dimension,
                      beta: 1, c: products, ldc: gemmRows)
            body(first, rows, products)
        }
    }

    /// The single-precision nearest two of the `count` points of the column-major matrix at
    /// `points`, in `worker`'s scratch: nearest index and the two values of ‖c‖² − 2x·c.
    private func findNearestTwo(worker: Int, count: Int, points: UnsafePointer<Float>) -> NearestTwoFound {
        let chunk = ChunkedWork.chunkSize
        let found = NearestTwoFound(nearest: nearestScratch.baseAddress! + worker * chunk,
                                    best: distanceScratch.baseAddress! + worker * 2 * chunk,
                                    second: distanceScratch.baseAddress! + worker * 2 * chunk + chunk)
        forEachProductBlock(worker: worker, points: points, count: count) { first, rows, products in
            clientele_kmeans_nearest_two(products, gemmRows, rows, k, found.nearest + first,
                                         found.best + first, found.second + first)
        }
        return found
    }

    /// Point i's nearest center, the squared distances to it and to the second nearest, and
    /// how far those may be from the true ones: the single-precision result `p` of `found`
    /// when its certificate holds, else all k distances again in double precision.
    @inline(__always)
    private func resolve(_ i: Int, _ found: NearestTwoFound, _ p: Int)
        -> (nearest: Int, best: Double, second: Double, slack: Double) {
        let d = problem.dimension
        let norm = Double(problem.singles.norms[i])
        let margin = SinglePrecisionPoints.certificateMargin(pointNorm: norm, largestCenterNorm: singleCenters.largestNorm,
                                                             dimension: d)
        let (best, second) = (norm + Double(found.best[p]), norm + Double(found.second[p]))
        if singleCenters.holdDistances && second - best > margin {
            return (Int(found.nearest[p]), best, second, margin / 2)
        }
        let exact = exactNearestTwo(i)
        return (exact.nearest, exact.best, exact.second, singleCenters.holdDistances ? margin / 2 : .infinity)
    }

    /// Point i's nearest two centers from double-precision differences (the lowest index
    /// among ties).
    private func exactNearestTwo(_ i: Int) -> (nearest: Int, best: Double, second: Double) {
        let d = problem.dimension
        let x = problem.point(i)
        let centers = UnsafePointer(centers.baseAddress!)
        return nearestTwo(k, current: 0, distance: squaredDistance(x, centers, d)) { squaredDistance(x, centers + $0 * d, d) }
    }

    /// Gives point i the label `to`; if that changes it, the point leaves its old cluster's
    /// sums for the new one's. Returns whether the label changed.
    @inline(__always)
    private func reassign(point i: Int, to: Int, _ partial: UnsafeMutablePointer<Double>) -> Bool {
        let from = Int(labels[i])
        guard from != to else { return false }
        labels[i] = Int32(to)
        accumulate(problem.point(i), weight: problem.weight(i), into: from, sign: -1, partial)
        accumulate(problem.point(i), weight: problem.weight(i), into: to, sign: 1, partial)
        return true
    }

    /// Adds (sign +1) or takes away (−1) a point's weighted coordinates `x` in a cluster's sums.
    @inline(__always)
    private func accumulate(_ x: UnsafePointer<Double>, weight: Double, into cluster: Int, sign: Double,
                            _ partial: UnsafeMutablePointer<Double>) {
        let d = problem.dimension
        let w = sign * weight
        let sum = partial + cluster * d
        for j in 0..<d { sum[j] += w * x[j] }
        partial[k * d + cluster] += w
        if weight > 0 { partial[k * d + k + cluster] += sign }
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
            if sums[k * d + k + c] > 0 {
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
        let fartherFirst = { (x: (distance: Double, index: Int), y: (distance: Double, index: Int)) in
            x.distance > y.distance || (x.distance == y.distance && x.index < y.index)
        }
        var perChunk = [[(distance: Double, index: Int)]](repeating: [], count: work.chunkCount)
        perChunk.withUnsafeMutableBufferPointer { perChunk in
            work.forEachChunk { _, chunk, range in
                var kept: [(distance: Double, index: Int)] = []
                for i in range {
                    let distance = squaredDistance(problem.point(i), centers.baseAddress! + Int(labels[i]) * d, d)
                    guard problem.weight(i) > 0, kept.count < count || distance > kept[kept.count - 1].distance else { continue }
                    kept.append((distance, i))
                    kept.sort(by: fartherFirst)
                    if kept.count > count { kept.removeLast() }
                }
                perChunk[chunk] = kept
            }
        }
        return perChunk.joined()
            .sorted(by: fartherFirst)
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

/// Where `KMeansState.findNearestTwo` left its results, point by point.
struct NearestTwoFound {
    let nearest: UnsafeMutablePointer<Int32>
    let best: UnsafeMutablePointer<Float>
    let second: UnsafeMutablePointer<Float>
}

/// What one initialization reached.
struct KMeansSolution {
    let centers: [Double]
    let inertia: Double
    let iterations: Int
    let converged: Bool
}
