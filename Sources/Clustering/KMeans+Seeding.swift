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
/// smallest potential Σ w·min(D², d²(candidate)). Per center, one pass computes the candidates'
/// distances by gemm per chunk and the potentials they would leave; a second updates D² with
/// the winner, by differences. Draws read only the chunk totals and one chunk.
extension KMeansProblem {
    func seedCenters(k: Int, random: inout SeededRandom, into state: KMeansState) {
        let (d, chunks) = (dimension, work.chunkCount)
        let centers = state.centers.baseAddress!
        let closest = state.closest.baseAddress!
        let trials = 2 + Int(log(Double(k)))
        var chunkPotentials = [Double](repeating: 0, count: chunks)

        let first = draw(fraction: random.uniform(), chunkTotals: chunkWeights) { weight($0) }
        centers.update(from: point(first), count: d)
        updateClosest(closest, center: UnsafePointer(centers), replacing: true, chunkPotentials: &chunkPotentials)

        let candidates = UnsafeMutablePointer<Double>.allocate(capacity: trials * d)
        let candidateNorms = UnsafeMutablePointer<Double>.allocate(capacity: trials)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: work.workers * trials * ChunkedWork.chunkSize)
        let partials = ChunkPartials(chunks: chunks, width: trials)
        defer {
            candidates.deallocate(); candidateNorms.deallocate(); scratch.deallocate(); partials.deallocate()
        }
        for c in 1..<max(k, 1) {
            var chosen: [Int] = []
            for t in 0..<trials {
                let index = draw(fraction: random.uniform(), chunkTotals: chunkPotentials) { weight($0) * closest[$0] }
                chosen.append(index)
                (candidates + t * d).update(from: point(index), count: d)
            }
            rowSquaredNorms(candidates, count: trials, dimension: d, into: candidateNorms)
            work.forEachChunk { worker, chunk, range in
                let distances = scratch + worker * trials * ChunkedWork.chunkSize
                squaredDistances(points: point(range.lowerBound), pointNorms: norms.baseAddress! + range.lowerBound,
                                 count: range.count, centers: candidates, centerNorms: candidateNorms, centerCount: trials,
                                 dimension: d, into: distances)
                let potential = partials.slot(chunk)
                for (p, i) in range.enumerated() {
                    let w = weight(i)
                    for t in 0..<trials { potential[t] += w * min(closest[i], distances[p * trials + t]) }
                }
            }
            let potentials = partials.total(chunks: chunks)
            let winner = potentials.indices.min { potentials[$0] < potentials[$1] }!
            (centers + c * d).update(from: point(chosen[winner]), count: d)
            updateClosest(closest, center: UnsafePointer(centers + c * d), replacing: false, chunkPotentials: &chunkPotentials)
        }
    }

    /// D²ᵢ ← d²(xᵢ, center) (or the smaller of the two), with each chunk's Σ w·D².
    private func updateClosest(_ closest: UnsafeMutablePointer<Double>, center: UnsafePointer<Double>, replacing: Bool,
                               chunkPotentials: inout [Double]) {
        let d = dimension
        chunkPotentials.withUnsafeMutableBufferPointer { totals in
            work.forEachChunk { _, chunk, range in
                var potential = 0.0
                for i in range {
                    let distance = squaredDistance(point(i), center, d)
                    closest[i] = replacing ? distance : min(closest[i], distance)
                    potential += weight(i) * closest[i]
                }
                totals[chunk] = potential
            }
        }
    }
}
