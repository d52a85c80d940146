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
/// computes, by gemm per chunk, the distances to the candidates and to the previous winner,
/// whose update of D² was put off to this pass, and the potential each candidate would leave
/// in each chunk. The winner's per-chunk potentials are then D²'s chunk totals, so the next
/// draws read only those totals and one chunk, applying the pending winner on the fly.
extension KMeansProblem {
    func seedCenters(k: Int, random: inout SeededRandom, into state: KMeansState) {
        let (d, work) = (dimension, state.work)
        let chunks = work.chunkCount
        let centers = state.centers.baseAddress!
        let closest = state.closest.baseAddress!
        let trials = 2 + Int(log(Double(k)))
        var chunkPotentials = [Double](repeating: 0, count: chunks)

        let first = draw(fraction: random.uniform(), chunkTotals: chunkWeights) { weight($0) }
        centers.update(from: point(first), count: d)
        updateClosest(closest, center: UnsafePointer(centers), work: work, chunkPotentials: &chunkPotentials)

        // Row 0: the pending winner; rows 1…trials: the candidates.
        let rows = trials + 1
        let candidates = UnsafeMutablePointer<Double>.allocate(capacity: rows * d)
        let candidateNorms = UnsafeMutablePointer<Double>.allocate(capacity: rows)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: work.workers * rows * ChunkedWork.chunkSize)
        let partials = ChunkPartials(chunks: chunks, width: trials)
        defer {
            candidates.deallocate(); candidateNorms.deallocate(); scratch.deallocate(); partials.deallocate()
        }
        var pending: UnsafePointer<Double>?
        for c in 1..<max(k, 1) {
            var chosen: [Int] = []
            for t in 0..<trials {
                let index = draw(fraction: random.uniform(), chunkTotals: chunkPotentials) { i in
                    weight(i) * (pending.map { min(closest[i], squaredDistance(point(i), $0, d)) } ?? closest[i])
                }
                chosen.append(index)
                (candidates + (t + 1) * d).update(from: point(index), count: d)
            }
            if let pending { candidates.update(from: pending, count: d) } else { candidates.update(from: centers, count: d) }
            rowSquaredNorms(candidates, count: rows, dimension: d, into: candidateNorms)
            work.forEachChunk { worker, chunk, range in
                let distances = scratch + worker * rows * ChunkedWork.chunkSize
                squaredDistances(points: point(range.lowerBound), pointNorms: norms.baseAddress! + range.lowerBound,
                                 count: range.count, centers: candidates, centerNorms: candidateNorms, centerCount: rows,
                                 dimension: d, into: distances)
                let potential = partials.slot(chunk)
                for (p, i) in range.enumerated() {
                    let row = distances + p * rows
                    let nearest = min(closest[i], row[0])
                    closest[i] = nearest
                    let w = weight(i)
                    for t in 0..<trials { potential[t] += w * min(nearest, row[t + 1]) }
                }
            }
            let potentials = partials.total(chunks: chunks)
            let winner = potentials.indices.min { potentials[$0] < potentials[$1] }!
            (centers + c * d).update(from: point(chosen[winner]), count: d)
            for chunk in 0..<chunks { chunkPotentials[chunk] = partials.buffer[chunk * trials + winner] }
            pending = UnsafePointer(centers + c * d)
        }
    }

    /// D²ᵢ ← d²(xᵢ, center), with each chunk's Σ w·D².
    private func updateClosest(_ closest: UnsafeMutablePointer<Double>, center: UnsafePointer<Double>, work: ChunkedWork,
                               chunkPotentials: inout [Double]) {
        let d = dimension
        chunkPotentials.withUnsafeMutableBufferPointer { totals in
            work.forEachChunk { _, chunk, range in
                var potential = 0.0
                for i in range {
                    closest[i] = squaredDistance(point(i), center, d)
                    potential += weight(i) * closest[i]
                }
                totals[chunk] = potential
            }
        }
    }
}
