import Dispatch
import Foundation
import LinearAlgebra
import Simulation

/// k-means: centers that minimise the inertia Σᵢ wᵢ ‖xᵢ − c(xᵢ)‖², each point belonging to its
/// nearest center.
///
/// Goals, in priority order:
/// 1. The same answer as scikit-learn's `KMeans` or a better one (lower inertia): greedy
///    k-means++ seeding with 2 + ⌊ln k⌋ local trials per center (Arthur & Vassilvitskii 2007;
///    scikit-learn's `_kmeans_plusplus`), `initializations` restarts keeping the lowest inertia,
///    a tolerance on the squared center movement relative to the mean feature variance, and
///    scikit-learn's final E-step so that labels always belong to the returned centers.
/// 2. The same labels and centers for the same seed whatever the thread count: fixed chunks,
///    one partial result per chunk, reductions in chunk order (`ChunkedWork`).
/// 3. Speed. Every assignment finds nearest centers in single precision on a Float copy of
///    the points, from products x·c that BLAS sgemm computes for a block of points at a time,
///    and certifies each against a rounding-error margin or recomputes it in double precision
///    (`SinglePrecisionPoints`), so the labels are those of double precision. Lloyd's pass is
///    a gemm per block and one selection loop (C, AVX2 when present) that lists only the
///    points whose label changes; Hamerly's (2010) bounds skip most
///    distances once centers settle, which pays when a distance costs many features.
///    `.automatic` picks Lloyd up to `lloydDimensionLimit` features, Hamerly above, and the
///    result says which ran. Both compute the same iterations bit for bit: the same labels,
///    and cluster sums changed only by the points that move, in the same order.
///    With several initializations each core runs whole ones while there are enough for
///    every core; the rest, like a single one, share their passes out over the cores.
///
/// 4. Repeated rows are clustered once: when at least a quarter of the rows repeat others
///    (`DistinctRows`; in customer data, the one-time buyers of each first-purchase day), the
///    fit runs on the distinct rows, each weighted by the total weight of the rows it stands
///    for, and its labels are handed back to every row. Lloyd's iterations and the inertia are
///    those of the full data, and the seeding draws from the same distribution, though not the
///    same draws as on the rows one by one.
///
/// Hazards: the data are centred on their mean first (as scikit-learn does; centers are
/// shifted back), so that Float coordinates keep their digits; coordinates large enough for a
/// Float square to overflow send every point to double precision; the reported inertia is
/// recomputed from differences in double precision. An empty cluster takes the point farthest
/// from its center (the next farthest distinct one for a second empty cluster).
public enum KMeans {
    public enum Algorithm: String, Codable, Sendable, CaseIterable {
        /// Lloyd for up to `lloydDimensionLimit` features, Hamerly above.
        case automatic
        /// Lloyd's iteration: every point's distances each pass.
        case lloyd
        /// Lloyd's iteration with Hamerly's upper and lower bounds.
        case hamerly
    }

    /// Up to 16 features Lloyd's vectorised pass ran faster than Hamerly in every case
    /// measured (d = 6 with k = 8 and 32, d = 16 with k = 8: 1.6 to 2.8 times less CPU time);
    /// from 32 features on Hamerly did (d = 32, 64, 128 and 200 with k = 16: 1.4 to 2.4 times),
    /// since each distance it skips costs d multiply-adds (README).
    public static let lloydDimensionLimit = 16

    public struct Options: Sendable, Equatable {
        public var k: Int
        public var seed: UInt64
        /// Restarts from independent seedings (scikit-learn's `n_init`).
        public var initializations: Int
        public var maxIterations: Int
        /// Convergence when Σ‖c_new − c_old‖² ≤ tolerance × mean feature variance.
        public var tolerance: Double
        public var algorithm: Algorithm
        /// Worker threads; nil uses every core. The result does not depend on it.
        public var threads: Int?
        /// Whether repeated rows are clustered once (goal 4); off only where a test compares.
        var mergesRepeatedRows = true

        public init(k: Int, seed: UInt64 = 0, initializations: Int = 10, maxIterations: Int = 300,
                    tolerance: Double = 1e-4, algorithm: Algorithm = .automatic, threads: Int? = nil) {
            self.k = k
            self.seed = seed
            self.initializations = initializations
            self.maxIterations = maxIterations
            self.tolerance = tolerance
            self.algorithm = algorithm
            self.threads = threads
        }
    }

    /// Clusters `data` (optionally with a sample weight per row) into `options.k` clusters.
    ///
    /// Throws when k exceeds the number of points or of distinct points (both counted among
    /// rows of positive weight), for a weight that is negative or not finite, and for options
    /// out of range.
    /// `data` is consumed: a caller that hands it over (`consume`) lets the fit free it once
    /// its centred copy is made. `equalRows`, when the caller knows rows that are equal (the
    /// features of customers with the same history and spend), saves most of finding the
    /// repeated rows; the result is the same with it or without it.
    public static func fit(_ data: consuming FeatureMatrix, weights: [Double]? = nil, options: Options,
                           equalRows: DistinctRows? = nil) throws -> KMeansResult {
        try validate(data, weights: weights, options: options)
        let featureNames = data.featureNames
        let prepared = KMeansProblem.onDistinctRows(consume data, weights: weights, threads: options.threads,
                                                    merging: options.mergesRepeatedRows, equalRows: equalRows)
        return try fit(prepared, featureNames: featureNames, options: options)
    }

    /// `fit(_:options:equalRows:)` with `equalRows` `known`, on data given by the first rows of
    /// `known`'s groups alone: row g of `firstRows` stands for every row of group g, which the
    /// caller knows to be equal (`FeaturePreparation.fitted(_:to:firstRowsOf:)` prepares only
    /// those rows), and `known` is numbered in order of first appearance. The same result,
    /// labels for every row, without a table of every row.
    public static func fit(firstRows data: consuming FeatureMatrix, of known: DistinctRows, options: Options) throws -> KMeansResult {
        guard data.count == known.count, known.numberedInOrder else {
            throw ClusteringError.invalidArgument("\(data.count) first rows for \(known.count) known groups\(known.numberedInOrder ? "" : " out of order")")
        }
        try validate(data, weights: nil, options: options, rows: known.group.count)
        let featureNames = data.featureNames
        let prepared = options.mergesRepeatedRows
            ? KMeansProblem.onDistinctRows(firstRows: consume data, of: known, threads: options.threads)
            : (KMeansProblem(data.rows(known.group), weights: nil, threads: options.threads), nil)
        return try fit(prepared, featureNames: featureNames, options: options)
    }

    /// The fit on a problem already made (and its rows' distinct rows, if merged) from data
    /// that `validate` accepted with these options: several k's share one problem. A fit
    /// whose squared distances overflowed (coordinates or weights near the largest Double) is
    /// refused: its labels and inertia mean nothing.
    static func fit(_ prepared: (problem: KMeansProblem, rowGroups: [Int32]?), featureNames: [String],
                    options: Options) throws -> KMeansResult {
        let (problem, rowGroups) = prepared
        let d = problem.dimension
        let algorithm: Algorithm = options.algorithm != .automatic ? options.algorithm
            : (d <= lloydDimensionLimit ? .lloyd : .hamerly)
        let toleranceScale = options.tolerance * problem.meanFeatureVariance
        // With several initializations and cores, each core runs whole initializations (no
        // barrier per pass, which matters on a busy machine); otherwise the passes share out
        // their chunks. The initializations left when fewer remain than there are cores (3 on
        // 2 cores: the third) share their passes too: the core that finishes its own first
        // starts one, and the other joins its passes once done with its own, instead of idling
        // to the end. Chunks and reductions are the same either way, and so is the result.
        let parallelInitializations = min(problem.work.workers, options.initializations)
        let whole = options.initializations - options.initializations % parallelInitializations
        let perState = parallelInitializations > 1 ? ChunkedWork(points: problem.count, threads: 1) : problem.work
        // Several left over (10 on 4 cores: 2) share the cores between them.
        let leftOver = options.initializations - whole
        let perLeftOver = ChunkedWork(points: problem.count, threads: problem.work.workers / max(1, leftOver))
        let outcomes = InitializationOutcomes(count: options.initializations)
        let queue = InitializationQueue(count: options.initializations)
        let runInitializations = { @Sendable (_: Int) in
            var own: KMeansState?
            while let initialization = queue.next() {
                let state: KMeansState
                if initialization < whole {
                    own = own ?? KMeansState(problem: problem, k: options.k, work: perState)
                    state = own!
                } else {
                    own = nil
                    state = KMeansState(problem: problem, k: options.k, work: perLeftOver)
                }
                var random = KMeans.random(seed: options.seed, initialization: initialization)
                problem.seedCenters(k: options.k, random: &random, into: state)
                let solution = state.iterate(algorithm: algorithm, maxIterations: options.maxIterations, tolerance: toleranceScale)
                outcomes.record(initialization, solution: solution, labels: state.labels)
            }
        }
        // Threads of their own, not a concurrentPerform: a shared pass inside one would run on
        // its caller's thread alone.
        onThreads(parallelInitializations, runInitializations)
        let best = outcomes.best()
        let inertias = outcomes.solutions.map { $0!.inertia }
        let iterations = outcomes.solutions.map { $0!.iterations }
        let (solution, labels, initialization) = (best.solution, best.labels, best.initialization)
        guard solution.inertia.isFinite else {
            throw ClusteringError.invalidArgument(
                "the squared distances overflow (inertia \(solution.inertia)): the features are too large for k-means as they are; rescale them (zscore) or lower their weights")
        }
        let centers = (0..<options.k).map { c in (0..<d).map { solution.centers[c * d + $0] + problem.mean[$0] } }
        let rowLabels = rowGroups.map { $0.map { Int(labels[Int($0)]) } } ?? labels.map(Int.init)
        return KMeansResult(k: options.k, featureNames: featureNames, centers: centers, labels: rowLabels,
                            inertia: solution.inertia, iterations: solution.iterations, converged: solution.converged,
                            algorithm: algorithm, bestInitialization: initialization, inertiaByInitialization: inertias,
                            iterationsByInitialization: iterations)
    }

    /// `rows`: the rows `data` stands for, when it holds only some of them (each distinct row
    /// among them); the count of points is theirs.
    static func validate(_ data: FeatureMatrix, weights: [Double]?, options: Options, rows: Int? = nil) throws {
        guard options.k >= 1 else { throw ClusteringError.invalidArgument("k must be at least 1, got \(options.k)") }
        guard options.initializations >= 1 else {
            throw ClusteringError.invalidArgument("the number of initializations must be at least 1, got \(options.initializations)")
        }
        guard options.maxIterations >= 1 else {
            throw ClusteringError.invalidArgument("the maximum number of iterations must be at least 1, got \(options.maxIterations)")
        }
        guard options.tolerance >= 0, options.tolerance.isFinite else {
            throw ClusteringError.invalidArgument("the tolerance must be a finite number ≥ 0, got \(options.tolerance)")
        }
        if let threads = options.threads, threads < 1 {
            throw ClusteringError.invalidArgument("threads must be at least 1, got \(threads)")
        }
        var positive = rows ?? data.count
        if let weights {
            guard weights.count == data.count else {
                throw ClusteringError.invalidArgument("\(weights.count) sample weights for \(data.count) rows")
            }
            if let bad = weights.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
                throw ClusteringError.invalidWeight(row: bad + 1, value: weights[bad])
            }
            positive = weights.count { $0 > 0 }
            guard positive > 0 else { throw ClusteringError.noPositiveWeight(rows: weights.count) }
        }
        guard positive >= options.k else { throw ClusteringError.tooFewPoints(points: positive, k: options.k) }
        // Stops as soon as k distinct rows are seen, so typical data cost k rows, not n.
        var distinct = Set<ArraySlice<Double>>()
        let d = data.dimension
        for i in 0..<data.count where weights?[i] ?? 1 > 0 {
            distinct.insert(data.values[(i * d)..<((i + 1) * d)])
            if distinct.count >= options.k { return }
        }
        throw ClusteringError.tooFewDistinctPoints(distinct: distinct.count, k: options.k)
    }
}

/// A fitted k-means model.
public struct KMeansResult: Sendable, Codable, Equatable {
    public let k: Int
    public let featureNames: [String]
    /// Center `c`'s coordinates, in the units of the data given to `fit`.
    public let centers: [[Double]]
    /// Each row's cluster, 0..<k.
    public let labels: [Int]
    /// Σᵢ wᵢ ‖xᵢ − c(xᵢ)‖² of the kept initialization, computed from differences.
    public let inertia: Double
    /// Lloyd iterations of the kept initialization.
    public let iterations: Int
    /// False when the kept initialization stopped at the iteration limit.
    public let converged: Bool
    /// The algorithm that ran (never `.automatic`).
    public let algorithm: KMeans.Algorithm
    public let bestInitialization: Int
    public let inertiaByInitialization: [Double]
    public let iterationsByInitialization: [Int]

    /// Points per cluster.
    public var sizes: [Int] {
        var sizes = [Int](repeating: 0, count: k)
        for label in labels { sizes[label] += 1 }
        return sizes
    }
}

extension KMeans {
    /// Initialization i draws from its own stream, so that its seeds do not depend on which
    /// thread runs it or in what order.
    static func random(seed: UInt64, initialization: Int) -> SeededRandom {
        SeededRandom(seed: seed &+ UInt64(initialization) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The greedy k-means++ centers the first initialization of `fit` starts from.
    public static func initialCenters(_ data: FeatureMatrix, weights: [Double]? = nil, options: Options) throws -> [[Double]] {
        try validate(data, weights: weights, options: options)
        let problem = KMeansProblem.onDistinctRows(data, weights: weights, threads: options.threads,
                                                   merging: options.mergesRepeatedRows).problem
        let state = KMeansState(problem: problem, k: options.k, work: problem.work)
        var random = random(seed: options.seed, initialization: 0)
        problem.seedCenters(k: options.k, random: &random, into: state)
        let d = data.dimension
        return (0..<options.k).map { c in (0..<d).map { state.centers[c * d + $0] + problem.mean[$0] } }
    }

    /// Each row's nearest center (the lowest index among ties): one Lloyd assignment, certified
    /// single precision as in `fit`. This is how new customers join existing segments.
    public static func nearestCenters(_ data: FeatureMatrix, centers: [[Double]], threads: Int? = nil) throws -> [Int] {
        guard !centers.isEmpty, centers.allSatisfy({ $0.count == data.dimension }) else {
            throw ClusteringError.invalidArgument("centers must be non-empty and have \(data.dimension) coordinates each")
        }
        guard data.count > 0 else { return [] }
        let problem = KMeansProblem(data, weights: nil, threads: threads)
        let state = KMeansState(problem: problem, k: centers.count, work: problem.work)
        let d = data.dimension
        for (c, center) in centers.enumerated() {
            for j in 0..<d { state.centers[c * d + j] = center[j] - problem.mean[j] }
        }
        state.assignAll(countingChangesFrom: false, boundsToo: false)
        return state.labels.map(Int.init)
    }
}

/// Runs `body(t)` for t in 0..<count (count ≥ 1), 0 on the caller's thread and the others on
/// threads of their own, and returns when all are done.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for t in 1..<count {
        Thread.detachNewThread {
            body(t)
            done.signal()
        }
    }
    body(0)
    for _ in 1..<count { done.wait() }
}

/// Hands out initialization numbers to the threads that run them.
private final class InitializationQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var following = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard following < count else { return nil }
        following += 1
        return following - 1
    }
}

/// Each initialization's solution, and the labels of the best so far: the lowest inertia,
/// the lower initialization number among equals, as a sequential loop would keep.
private final class InitializationOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var solutions: [KMeansSolution?]
    private var kept: (solution: KMeansSolution, labels: [Int32], initialization: Int)?

    init(count: Int) { solutions = Array(repeating: nil, count: count) }

    func record(_ initialization: Int, solution: KMeansSolution, labels: UnsafeMutableBufferPointer<Int32>) {
        lock.lock()
        defer { lock.unlock() }
        solutions[initialization] = solution
        if let kept, kept.solution.inertia < solution.inertia
            || (kept.solution.inertia == solution.inertia && kept.initialization < initialization) { return }
        kept = (solution, Array(labels), initialization)
    }

    func best() -> (solution: KMeansSolution, labels: [Int32], initialization: Int) { kept! }
}
