#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CClusteringKernels
import Simulation

/// Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, "k-means++: the advantages of careful
/// seeding"; the greedy variant of scikit-learn's `_kmeans_plusplus`).
///
/// The first center is a point drawn with probability proportional to its weight. Each next
/// center: draw 2 + ⌊ln k⌋ candidates with probability proportional to w·D², where D is the
/// distance to the nearest center chosen so far, and keep the candidate that leaves the
/// smallest potential Σ w·min(D², d²(candidate)). One pass over the data per center: it
/// computes the distances to the candidates and to the previous winner, whose update of D² was
/// put off to this pass, and the potential each candidate would leave in each chunk. The
/// winner's per-chunk potentials are then D²'s chunk totals, so the next draws read only those
/// totals and one chunk, applying the pending winner on the fly.
///
/// Distances are single precision, eight points at a time, from the Float copy of the points
/// (`SinglePrecisionPoints`, the pass in CClusteringKernels): seeding only draws and compares potentials, which a relative
/// error of 10⁻⁶ does not bias, and it halves the bytes each of the k passes reads. D² is kept
/// as Floats; potentials are summed in double precision. They are taken by differences in
/// that kernel, not through gemm: the draws must be the same on every BLAS, whose order of
/// summation and use of fused multiply-adds are its own.
extension KMeansProblem {
    func seedCenters(k: Int, random: inout SeededRandom, into state: KMeansState) {
        let (d, work) = (dimension, state.work)
        let chunks = work.chunkCount
        let centers = state.centers.baseAddress!
        let closest = state.closest.baseAddress!
        let trials = 2 + Int(log(Double(k)))
        // Row 0: the pending winner (at first, the first center); rows 1…trials: the candidates.
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: (trials + 1) * d)
        let partials = ChunkPartials(chunks: chunks, width: trials + 1)
        defer { rows.deallocate(); partials.deallocate() }

        let first = draw(fraction: random.uniform(), chunkTotals: chunkWeights) { weight($0) }
        centers.update(from: point(first), count: d)
        for j in 0..<d { rows[j] = Float(centers[j]) }
        closest.initialize(repeating: .infinity, count: singles.paddedCount)
        seedingPass(rows: rows, trials: 0, closest: closest, work: work, partials: partials)
        var chunkPotentials = (0..<chunks).map { partials.buffer[$0 * (trials + 1)] }

        var pending = false
        for c in 1..<max(k, 1) {
            var chosen: [Int] = []
            for t in 0..<trials {
                let index = draw(fraction: random.uniform(), chunkTotals: chunkPotentials) { i in
                    weight(i) * Double(pending ? min(closest[i], singles.squaredDistance(point: i, to: rows)) : closest[i])
                }
                chosen.append(index)
                for j in 0..<d { rows[(t + 1) * d + j] = Float(point(index)[j]) }
            }
            seedingPass(rows: rows, trials: trials, closest: closest, work: work, partials: partials)
            let potentials = partials.total(chunks: chunks)
            let winner = (0..<trials).min { potentials[$0 + 1] < potentials[$1 + 1] }!
            (centers + c * d).update(from: point(chosen[winner]), count: d)
            for chunk in 0..<chunks { chunkPotentials[chunk] = partials.buffer[chunk * (trials + 1) + winner + 1] }
            for j in 0..<d { rows[j] = Float(centers[c * d + j]) }
            pending = true
        }
    }

    /// D² ← min(D², d²(x, row 0)) for every point; per chunk, Σ w·D² in slot 0 and, for each
    /// candidate t, Σ w·min(D², d²(x, row t + 1)) in slot t + 1 (CClusteringKernels).
    private func seedingPass(rows: UnsafePointer<Float>, trials: Int, closest: UnsafeMutablePointer<Float>,
                             work: ChunkedWork, partials: ChunkPartials) {
        let laneSums = UnsafeMutableRawPointer.allocate(byteCount: work.workers * 64 * (trials + 1), alignment: 64)
            .bindMemory(to: Double.self, capacity: work.workers * 8 * (trials + 1))
        defer { UnsafeMutableRawPointer(laneSums).deallocate() }
        work.forEachChunk { worker, chunk, range in
            let chunkWeights: UnsafePointer<Double>? = weights.map { UnsafePointer($0.baseAddress! + range.lowerBound) }
            let scratch = laneSums + worker * 8 * (trials + 1)
            clientele_kmeans_seeding_pass(singles.chunk(startingAt: range.lowerBound), SinglePrecisionPoints.chunkRows,
                                          range.count, dimension, rows, trials, closest + range.lowerBound, chunkWeights,
                                          scratch, partials.slot(chunk))
        }
    }
}
