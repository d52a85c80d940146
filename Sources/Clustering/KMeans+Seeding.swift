#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
/// (`SinglePrecisionPoints`): seeding only draws and compares potentials, which a relative
/// error of 10⁻⁶ does not bias, and it halves the bytes each of the k passes reads. D² is kept
/// as Floats; potentials are summed in double precision.
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
        closest.initialize(repeating: .infinity, count: singles.blocks * SinglePrecisionPoints.lanes)
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
    /// candidate t, Σ w·min(D², d²(x, row t + 1)) in slot t + 1.
    private func seedingPass(rows: UnsafePointer<Float>, trials: Int, closest: UnsafeMutablePointer<Float>,
                             work: ChunkedWork, partials: ChunkPartials) {
        typealias Lanes = SinglePrecisionPoints.Lanes
        let (d, lanes) = (dimension, SinglePrecisionPoints.lanes)
        work.forEachChunk { _, chunk, range in
            let potential = partials.slot(chunk)
            withUnsafeTemporaryAllocation(of: SIMD8<Double>.self, capacity: trials + 1) { sums in
                sums.initialize(repeating: SIMD8<Double>())
                for start in stride(from: range.lowerBound, to: range.upperBound, by: lanes) {
                    let block = singles.block(startingAt: start)
                    var w = SIMD8<Double>(repeating: 1)
                    if let weights {
                        for lane in 0..<lanes { w[lane] = start + lane < count ? weights[start + lane] : 0 }
                    } else if start + lanes > count {
                        for lane in (count - start)..<lanes { w[lane] = 0 }
                    }
                    let raw = UnsafeMutableRawPointer(closest + start)
                    var nearest = raw.loadUnaligned(as: Lanes.self)
                    let distance = blockSquaredDistances(block, dimension: d, center: rows)
                    nearest.replace(with: distance, where: distance .< nearest)
                    raw.storeBytes(of: nearest, as: Lanes.self)
                    sums[0] += w * SIMD8<Double>(nearest)
                    for t in 0..<trials {
                        var leaves = blockSquaredDistances(block, dimension: d, center: rows + (t + 1) * d)
                        leaves.replace(with: nearest, where: nearest .< leaves)
                        sums[t + 1] += w * SIMD8<Double>(leaves)
                    }
                }
                for t in 0...trials { potential[t] = sums[t].sum() }
            }
        }
    }
}
