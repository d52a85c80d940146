#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import LinearAlgebra
import Synchronization

/// Fixed-size chunks of points shared out over worker threads.
///
/// Determinism whatever the thread count rests on two rules: the chunks are the same for any
/// number of workers (their size is fixed, not derived from the worker count), and every
/// reduction keeps one partial result per chunk and adds them in chunk order afterwards.
/// Which worker ran a chunk then changes nothing but the time taken.
struct ChunkedWork {
    /// 2048 points: a chunk's Floats (48 KiB for 6 features), Doubles and per-point scratch
    /// stay in a core's L2 cache while a pass works on them, and a million points still make
    /// 489 chunks to share out evenly.
    static let chunkSize = 2048

    let points: Int
    /// Points per chunk: `chunkSize` unless the caller's per-chunk scratch asks for another.
    let pointsPerChunk: Int
    let workers: Int

    init(points: Int, threads: Int?, pointsPerChunk: Int = ChunkedWork.chunkSize) {
        self.points = points
        self.pointsPerChunk = pointsPerChunk
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        workers = max(1, min(threads ?? cores, (points + pointsPerChunk - 1) / pointsPerChunk))
    }

    var chunkCount: Int { (points + pointsPerChunk - 1) / pointsPerChunk }

    func range(_ chunk: Int) -> Range<Int> {
        (chunk * pointsPerChunk)..<min(points, (chunk + 1) * pointsPerChunk)
    }

    /// Calls `body(worker, chunk, points)` for every chunk. Each worker takes the next chunk
    /// not yet taken, so that a worker whose core is busy with another stage holds up the pass
    /// by one chunk at most, not by its share of them. Bodies must write only their chunk's
    /// slots and their worker's scratch.
    func forEachChunk(_ body: (_ worker: Int, _ chunk: Int, _ points: Range<Int>) -> Void) {
        let work = self
        guard workers > 1 else {
            for chunk in 0..<chunkCount { body(0, chunk, range(chunk)) }
            return
        }
        let following = Atomic<Int>(0)
        withoutActuallyEscaping(body) { escapable in
            let shared = UnsafeSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                while true {
                    let chunk = following.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard chunk < work.chunkCount else { return }
                    shared.value(w, chunk, work.range(chunk))
                }
            }
        }
    }
}

/// A value handed to worker threads under the rule of `ChunkedWork.forEachChunk`: each
/// chunk writes only its own slots.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Squared Euclidean distances from a block of points to a set of centers, through gemm:
/// ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖².
///
/// The block is `count` points of `dimension` values, row by row (a column-major
/// `dimension × count` matrix); the centers likewise. The result holds, point by point, the
/// `centerCount` distances of that point. The expansion loses digits when ‖x‖ is large next to
/// ‖x − c‖; callers centre the data first (as scikit-learn does) and clamp the rare negative
/// result of cancellation at zero. Final inertias are recomputed from differences.
///
/// Inside a parallel pass each call must stay on its thread. `clientele` keeps every OpenBLAS
/// call on its caller's thread, but where the environment gives OpenBLAS threads
/// (`OPENBLAS_NUM_THREADS`), it starts them for a gemm of more than 65536 multiply-adds
/// (SMP_THRESHOLD_MIN), and threads that wait for each other's cores cost more than the
/// gemm. `withinParallelPass` splits the block into gemms below that size; each distance is
/// the same dot product either way. A caller whose blocks are already small passes false.
func squaredDistances(points: UnsafePointer<Double>, pointNorms: UnsafePointer<Double>, count: Int,
                      centers: UnsafePointer<Double>, centerNorms: UnsafePointer<Double>, centerCount: Int,
                      dimension: Int, into distances: UnsafeMutablePointer<Double>, withinParallelPass: Bool = true) {
    let step = withinParallelPass ? max(1, 65536 / max(1, centerCount * dimension)) : max(count, 1)
    for start in stride(from: 0, to: count, by: step) {
        BLAS.gemm(transposeA: true, transposeB: false, m: centerCount, n: min(step, count - start), k: dimension, alpha: -2,
                  a: centers, lda: dimension, b: points + start * dimension, ldb: dimension, beta: 0,
                  c: distances + start * centerCount, ldc: centerCount)
    }
    for p in 0..<count {
        let row = distances + p * centerCount
        let norm = pointNorms[p]
        for c in 0..<centerCount { row[c] = max(0, row[c] + norm + centerNorms[c]) }
    }
}

/// ‖a − b‖² over `dimension` values, by differences (exact where the expansion is not).
@inline(__always)
func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ dimension: Int) -> Double {
    var sum = 0.0
    for j in 0..<dimension {
        let difference = a[j] - b[j]
        sum += difference * difference
    }
    return sum
}

/// Squared norms of `count` rows of `dimension` values.
func rowSquaredNorms(_ rows: UnsafePointer<Double>, count: Int, dimension: Int, into norms: UnsafeMutablePointer<Double>) {
    for i in 0..<count {
        var sum = 0.0
        let row = rows + i * dimension
        for j in 0..<dimension { sum += row[j] * row[j] }
        norms[i] = sum
    }
}
