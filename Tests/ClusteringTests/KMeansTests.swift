import LinearAlgebra
import Simulation
import Testing
@testable import Clustering

/// k-means against scikit-learn 1.9.1 on the committed fixtures, and each edge case against a
/// hand-worked answer.
@Suite struct KMeansTests {
    @Test(arguments: ["blobs_k5", "blobs_k8", "iris_k3", "iris_k6", "weighted_k4", "one_feature_k3"])
    func inertiaIsAtMostScikitLearns(_ name: String) throws {
        let reference = try #require(try sklearnCases()[name])
        let (data, weights) = try fixtureData(reference.data)
        for algorithm in [KMeans.Algorithm.lloyd, .hamerly] {
            let fit = try KMeans.fit(data, weights: weights,
                                     options: .init(k: reference.k, seed: 1, initializations: reference.n_init, algorithm: algorithm))
            #expect(fit.inertia <= reference.inertia * (1 + 1e-9), "\(name) \(algorithm): \(fit.inertia) vs \(reference.inertia)")
            #expect(fit.converged)
        }
    }

    /// A matrix handed over (`consume`) may be freed once centred; one the caller keeps is
    /// left as it was. Both give the same fit.
    @Test func aHandedOverMatrixFitsAsAKeptOne() throws {
        let reference = try #require(try sklearnCases()["blobs_k5"])
        let (data, _) = try fixtureData(reference.data)
        let kept = data
        let options = KMeans.Options(k: 5, seed: 3, initializations: 2)
        let fromKept = try KMeans.fit(kept, options: options)
        #expect(kept == data)
        var handed: FeatureMatrix? = data
        let fromHanded = try KMeans.fit(handed.take()!, options: options)
        #expect(handed == nil)
        #expect(fromHanded.labels == fromKept.labels && fromHanded.centers == fromKept.centers && fromHanded.inertia == fromKept.inertia)
    }

    @Test func lloydAndHamerlyReachTheSameClustering() throws {
        let data = mixture(points: 20_000, features: 3, clusters: 6, seed: 3)
        let lloyd = try KMeans.fit(data, options: .init(k: 6, seed: 9, initializations: 3, algorithm: .lloyd))
        let hamerly = try KMeans.fit(data, options: .init(k: 6, seed: 9, initializations: 3, algorithm: .hamerly))
        #expect(lloyd.labels == hamerly.labels)
        #expect(relativeDifference(lloyd.inertia, hamerly.inertia) < 1e-12)
        #expect(lloyd.iterations == hamerly.iterations)
        #expect(lloyd.algorithm == .lloyd && hamerly.algorithm == .hamerly)
    }

    @Test(arguments: [KMeans.Algorithm.lloyd, .hamerly])
    func sameResultWhateverTheThreadCount(_ algorithm: KMeans.Algorithm) throws {
        // 9 chunks of 2048 points; 4 initializations, one per thread on 2 threads, and on 3
        // threads three so and the fourth sharing its passes.
        let data = mixture(points: 17_000, features: 4, clusters: 5, seed: 5)
        let weights = (0..<data.count).map { Double($0 % 7) + 0.5 }
        let fits = try [1, 2, 3].map {
            try KMeans.fit(data, weights: weights, options: .init(k: 5, seed: 42, initializations: 4, algorithm: algorithm, threads: $0))
        }
        #expect(fits[0] == fits[1])
        #expect(fits[0] == fits[2])
        // 3 initializations on 2 threads: the third shares its passes over both.
        let three = try [1, 2].map {
            try KMeans.fit(data, weights: weights, options: .init(k: 5, seed: 42, initializations: 3, algorithm: algorithm, threads: $0))
        }
        #expect(three[0] == three[1])
        // One initialization: the passes themselves are shared out over the threads.
        let single = try [1, 3].map {
            try KMeans.fit(data, weights: weights, options: .init(k: 5, seed: 42, initializations: 1, algorithm: algorithm, threads: $0))
        }
        #expect(single[0] == single[1])
    }

    @Test func automaticChoiceSaysWhichRan() throws {
        let low = mixture(points: 500, features: 3, clusters: 3, seed: 1)
        let high = mixture(points: 500, features: KMeans.lloydDimensionLimit + 1, clusters: 3, seed: 1)
        #expect(try KMeans.fit(low, options: .init(k: 3)).algorithm == .lloyd)
        #expect(try KMeans.fit(high, options: .init(k: 3)).algorithm == .hamerly)
    }

    /// Points 0, 1, 2, 10, 11 from centers 1, 10.5 and 100: the third center wins no point, so
    /// it moves to the point farthest from its center, 0 (tied with 2 at distance 1; the lower
    /// row wins). Then {0}, {1, 2}, {10, 11}: inertia 0 + 0.5 + 0.5.
    @Test(arguments: [KMeans.Algorithm.lloyd, .hamerly])
    func emptyClusterIsReseededFromTheFarthestPoint(_ algorithm: KMeans.Algorithm) throws {
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [0, 1, 2, 10, 11])
        let problem = KMeansProblem(data, weights: nil, threads: 1)
        let state = KMeansState(problem: problem, k: 3, work: problem.work)
        for (c, x) in [1.0, 10.5, 100].enumerated() { state.centers[c] = x - problem.mean[0] }
        let solution = state.iterate(algorithm: algorithm, maxIterations: 100, tolerance: 0)
        #expect(abs(solution.inertia - 1) < 1e-12)
        #expect(Array(state.labels) == [2, 0, 0, 1, 1])
        #expect(abs(solution.centers[2] + problem.mean[0]) < 1e-12)
        #expect(abs(solution.centers[0] + problem.mean[0] - 1.5) < 1e-12)
    }

    @Test func duplicatePointsFormExactClusters() throws {
        let values = (0..<300).map { [0.0, 5.0, 9.0][$0 % 3] }
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: values)
        let fit = try KMeans.fit(data, options: .init(k: 3, seed: 7))
        // Zero up to the rounding of centring the data on its mean and back.
        #expect(fit.inertia < 1e-20)
        #expect(zip(fit.centers.map { $0[0] }.sorted(), [0.0, 5, 9]).allSatisfy { abs($0 - $1) < 1e-13 })
        #expect(fit.sizes == [100, 100, 100])
    }

    @Test func fewerDistinctPointsThanKIsAnError() throws {
        let data = try FeatureMatrix(featureNames: ["x", "y"], rowMajor: [1, 2, 1, 2, 3, 4, 1, 2, 3, 4])
        #expect(throws: ClusteringError.tooFewDistinctPoints(distinct: 2, k: 3)) {
            try KMeans.fit(data, options: .init(k: 3))
        }
        // Rows of zero weight do not count.
        #expect(throws: ClusteringError.tooFewDistinctPoints(distinct: 1, k: 2)) {
            try KMeans.fit(data, weights: [1, 1, 0, 1, 0], options: .init(k: 2))
        }
    }

    @Test func fewerPointsThanKIsAnError() throws {
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [1, 2])
        #expect(throws: ClusteringError.tooFewPoints(points: 2, k: 3)) { try KMeans.fit(data, options: .init(k: 3)) }
        let error = try #require(throws: ClusteringError.self) { try KMeans.fit(data, options: .init(k: 3)) }
        #expect(error.description == "2 points cannot form 3 clusters: ask for k ≤ 2")
    }

    /// Rows all of weight 0 leave no k to ask for, so the error says what is wrong instead.
    @Test func allZeroSampleWeightsAreRefusedAsSuch() throws {
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [1, 2, 3])
        let error = try #require(throws: ClusteringError.self) {
            try KMeans.fit(data, weights: [0, 0, 0], options: .init(k: 2))
        }
        #expect(error == .noPositiveWeight(rows: 3))
        #expect(error.description == "no row has a positive sample weight (all 3 are 0): give some rows a weight above 0")
        #expect(throws: ClusteringError.noPositiveWeight(rows: 3)) {
            try KSelection(data: data, weights: [0, 0, 0], range: 2...3, options: .init(k: 2))
        }
    }

    @Test func nonFiniteValuesAreRefusedWithRowAndFeature() throws {
        #expect(throws: ClusteringError.nonFiniteValue(row: 2, feature: "recency", value: .infinity)) {
            try FeatureMatrix(featureNames: ["frequency", "recency"], rowMajor: [1, 2, 3, .infinity, 5, 6])
        }
        let error = try #require(throws: ClusteringError.self) {
            try FeatureMatrix(columns: [("frequency", [1, 2, 3]), ("monetary_value", [4, .nan, 6])])
        }
        #expect(error.description == "row 2, feature \"monetary_value\": nan is not a finite number")
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [1, 2, 3])
        #expect(throws: ClusteringError.invalidWeight(row: 3, value: -1)) {
            try KMeans.fit(data, weights: [1, 1, -1], options: .init(k: 2))
        }
    }

    /// One feature, two obvious groups: centers 2 and 11, inertia 2 + 2.
    @Test func oneFeature() throws {
        let data = try FeatureMatrix(featureNames: ["x"], rowMajor: [1, 12, 2, 10, 3, 11])
        let fit = try KMeans.fit(data, options: .init(k: 2, seed: 3))
        #expect(fit.centers.map { $0[0] }.sorted() == [2, 11])
        #expect(abs(fit.inertia - 4) < 1e-12)
        #expect(fit.labels[0] == fit.labels[2] && fit.labels[1] == fit.labels[3] && fit.labels[0] != fit.labels[1])
    }

    /// k = 1: the weighted mean, and the weighted sum of squares about it.
    @Test(arguments: [KMeans.Algorithm.lloyd, .hamerly])
    func oneClusterIsTheWeightedMean(_ algorithm: KMeans.Algorithm) throws {
        let data = try FeatureMatrix(featureNames: ["x", "y"], rowMajor: [0, 0, 2, 0, 0, 4])
        let fit = try KMeans.fit(data, weights: [2, 1, 1], options: .init(k: 1, algorithm: algorithm))
        // Mean (0.5, 1); inertia 2·(0.25 + 1) + (2.25 + 1) + (0.25 + 9).
        #expect(abs(fit.centers[0][0] - 0.5) < 1e-15 && abs(fit.centers[0][1] - 1) < 1e-15)
        #expect(abs(fit.inertia - 15) < 1e-12)
        #expect(fit.labels == [0, 0, 0])
    }

    /// A weight of 2 on every row draws the same seeds and doubles the inertia.
    @Test func uniformWeightsScaleTheInertia() throws {
        let (data, _) = try fixtureData("blobs.csv")
        let plain = try KMeans.fit(data, options: .init(k: 5, seed: 11))
        let doubled = try KMeans.fit(data, weights: Array(repeating: 2, count: data.count), options: .init(k: 5, seed: 11))
        #expect(plain.labels == doubled.labels)
        #expect(relativeDifference(2 * plain.inertia, doubled.inertia) < 1e-12)
    }

    @Test func nearestCentersAssignNewRows() throws {
        let (data, _) = try fixtureData("blobs.csv")
        let fit = try KMeans.fit(data, options: .init(k: 5, seed: 2))
        #expect(try KMeans.nearestCenters(data, centers: fit.centers) == fit.labels)
    }

    /// Points at and near the midpoints between two centers (offsets of 10⁻¹² to 10⁻⁵ along
    /// the segment, where Floats cannot tell the two apart or barely can): the certified
    /// sgemm passes — Lloyd's fresh and counting passes and Hamerly's full pass — give every
    /// point the center that double precision by differences gives (the lowest index among
    /// ties), with several gemms per chunk (d = 3, k = 5: 688 points per gemm; d = 8, k = 40:
    /// 96), on one thread and on two.
    @Test(arguments: [(3, 5), (8, 40)])
    func certifiedPassesGiveTheDoublePrecisionLabelsAtNearTies(dimension d: Int, k: Int) throws {
        var random = SeededRandom(seed: 7)
        let centers = (0..<(k * d)).map { _ in 4 * random.uniform() - 2 }
        let offsets = [0, 1e-12, -1e-12, 1e-9, -1e-9, 1e-7, -1e-7, 1e-5, -1e-5, 0.3]
        var rows: [Double] = []
        for _ in 0..<6000 {
            let (a, b) = (Int(random.next() % UInt64(k)), Int(random.next() % UInt64(k)))
            let t = 0.5 + offsets[Int(random.next() % UInt64(offsets.count))]
            for j in 0..<d { rows.append(centers[a * d + j] + t * (centers[b * d + j] - centers[a * d + j])) }
        }
        let data = try FeatureMatrix(featureNames: (1...d).map { "x\($0)" }, rowMajor: rows)
        for threads in [1, 2] {
            let problem = KMeansProblem(data, weights: nil, threads: threads)
            let state = KMeansState(problem: problem, k: k, work: problem.work)
            func place(shift: Double) {
                for c in 0..<k { for j in 0..<d { state.centers[c * d + j] = centers[c * d + j] - problem.mean[j] + shift } }
            }
            place(shift: 0)
            let exact = (0..<problem.count).map { i in
                (0..<k).min { squaredDistance(problem.point(i), state.centers.baseAddress! + $0 * d, d)
                    < squaredDistance(problem.point(i), state.centers.baseAddress! + $1 * d, d) }!
            }
            state.assignAll(countingChangesFrom: false, boundsToo: false)
            func disagreements() -> Int { zip(state.labels, exact).filter { Int($0) != $1 }.count }
            #expect(disagreements() == 0, "Lloyd, fresh, \(threads) threads")
            state.assignAll(countingChangesFrom: false, boundsToo: true)
            #expect(disagreements() == 0, "Hamerly, \(threads) threads")
            place(shift: 0.01)
            state.assignAll(countingChangesFrom: false, boundsToo: false)
            place(shift: 0)
            state.assignAll(countingChangesFrom: true, boundsToo: false)
            #expect(disagreements() == 0, "Lloyd, counting changes, \(threads) threads")
        }
    }

    /// Rows known to be equal beforehand (customers of one history and spend) give the fit
    /// that finding them costs: the same result, and the same when the known grouping is wrong.
    @Test func knownEqualRowsGiveTheSameFit() throws {
        let base = GaussianMixture(points: 3000, features: 3, clusters: 4, spread: 0.3, seed: 4)
        var random = SeededRandom(seed: 3)
        let rows = (0..<9000).map { _ in Int(random.next(upperBound: UInt64(3000))) }
        let data = try FeatureMatrix(featureNames: ["x", "y", "z"], rowMajor: rows.flatMap { base.values[($0 * 3)..<($0 * 3 + 3)] })
        let options = KMeans.Options(k: 4, seed: 9, initializations: 3)
        let plain = try KMeans.fit(data, options: options)
        let known = DistinctRows(columns: [], key: rows.map(UInt64.init))
        let wrong = DistinctRows(columns: [], key: rows.map { UInt64($0 % 1000) })
        #expect(try KMeans.fit(data, options: options, equalRows: known) == plain)
        #expect(try KMeans.fit(data, options: options, equalRows: wrong) == plain)
    }

    /// Preparing and fitting only the first rows of known groups of equal rows gives the
    /// preparation and the fit of every row, to the bit: transforms that are applied value by
    /// value, fitted on means and deviations or on quantiles, and a weight; a grouping worth
    /// merging and one that is not (then every row is fitted, from its group's values); rows
    /// not merged at all. A row that differs from its group's first row, or a value that is
    /// not finite, leave it to the full path.
    @Test func knownGroupsFirstRowsGiveTheFullPreparationAndFit() throws {
        let specifications = [FeatureSpecification(name: "a", transforms: [.log1p, .zScore]),
                              FeatureSpecification(name: "b", transforms: [.zScore]),
                              FeatureSpecification(name: "c", transforms: [.winsorize(lower: 0.05, upper: 0.95), .robust], weight: 2)]
        for (distinct, drawn) in [(3000, 9000), (8000, 9000)] {
            let base = GaussianMixture(points: distinct, features: 3, clusters: 4, spread: 0.3, seed: 4)
            var random = SeededRandom(seed: 3)
            // Rows drawn at random, so that the groups' first rows lie scattered; each row's
            // known group is its base row and a coin, so that two known groups often hold the
            // same values (and merge in k-means).
            let rows = (0..<drawn).map { _ in Int(random.next(upperBound: UInt64(distinct))) }
            let coins: [UInt64] = (0..<drawn).map { _ in random.next(upperBound: UInt64(2)) }
            let columns = (0..<3).map { j in rows.map { abs(base.values[$0 * 3 + j]) * 10 } }
            let keys: [UInt64] = zip(rows, coins).map { row, coin in UInt64(row) * 2 + coin }
            let known = DistinctRows(columns: [], key: keys)
            #expect(known.first != Array(0..<Int32(known.count)))
            let full = try FeaturePreparation.fitted(specifications, to: columns)
            let grouped = try #require(try FeaturePreparation.fitted(specifications, to: columns, firstRowsOf: known))
            #expect(grouped.preparation == full.preparation)
            #expect(grouped.data.values == known.first.flatMap { full.data.values[(Int($0) * 3)..<(Int($0) * 3 + 3)] })
            // Known groups of equal values merge: fewer distinct rows than known groups.
            let merged = grouped.data.values.withUnsafeBufferPointer { DistinctRows.repeated(firstRows: $0, width: 3, of: known) }
            #expect(merged == nil || merged!.rows.count < known.count)
            var options = KMeans.Options(k: 4, seed: 9, initializations: 3)
            let fit = try KMeans.fit(firstRows: grouped.data, of: known, options: options)
            #expect(fit == (try KMeans.fit(full.data, options: options, equalRows: known)), "\(distinct) of \(drawn)")
            options.mergesRepeatedRows = false
            #expect(try KMeans.fit(firstRows: grouped.data, of: known, options: options) == KMeans.fit(full.data, options: options))
            var changed = columns
            changed[1][drawn - 1] += 1
            #expect(try FeaturePreparation.fitted(specifications, to: changed, firstRowsOf: known) == nil)
            var infinite = columns
            infinite[0][0] = .infinity
            #expect(try FeaturePreparation.fitted(specifications, to: infinite, firstRowsOf: known) == nil)
        }
    }

    /// 2,000 well-separated points, each repeated one to four times and shuffled, with and
    /// without sample weights: the fit on the distinct rows (goal 4) is a k-means fixed point
    /// of the rows themselves — equal rows share a label, every row is nearest its center, each
    /// center is its rows' weighted mean, the inertia is their sum — and it finds the same
    /// clustering and inertia as the fit on the rows one by one.
    @Test func repeatedRowsAreClusteredOnce() throws {
        let base = GaussianMixture(points: 2000, features: 3, clusters: 4, spread: 0.3, seed: 21)
        var random = SeededRandom(seed: 8)
        var rows = (0..<2000).flatMap { i in Array(repeating: i, count: 1 + i % 4) }
        for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, Int(random.next(upperBound: UInt64(i + 1)))) }
        let values = rows.flatMap { base.values[($0 * 3)..<($0 * 3 + 3)] }
        let data = try FeatureMatrix(featureNames: ["x", "y", "z"], rowMajor: values)
        let merged = KMeansProblem.onDistinctRows(data, weights: nil, threads: 1)
        #expect(merged.problem.count == 2000 && merged.rowGroups?.count == rows.count)
        for weights in [nil, rows.indices.map { Double(1 + $0 % 3) }] {
            var options = KMeans.Options(k: 4, seed: 5, initializations: 4)
            let merged = try KMeans.fit(data, weights: weights, options: options)
            options.mergesRepeatedRows = false
            let plain = try KMeans.fit(data, weights: weights, options: options)
            #expect(relativeDifference(merged.inertia, plain.inertia) < 1e-10)
            // The same partition, whatever the numbering of the clusters.
            let pairs = Set(zip(merged.labels, plain.labels).map { [$0, $1] })
            #expect(pairs.count == 4)
            var labelOf: [Int: Int] = [:]
            var sums = [[Double]](repeating: [0, 0, 0, 0], count: 4)
            var inertia = 0.0
            for (i, point) in rows.enumerated() {
                #expect(labelOf[point, default: merged.labels[i]] == merged.labels[i])
                labelOf[point] = merged.labels[i]
                let x = Array(values[(i * 3)..<(i * 3 + 3)]), w = weights?[i] ?? 1
                let distances = merged.centers.map { c in zip(x, c).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
                #expect(distances[merged.labels[i]] == distances.min()!)
                inertia += w * distances[merged.labels[i]]
                for j in 0..<3 { sums[merged.labels[i]][j] += w * x[j] }
                sums[merged.labels[i]][3] += w
            }
            #expect(relativeDifference(inertia, merged.inertia) < 1e-12)
            for c in 0..<4 {
                for j in 0..<3 { #expect(abs(sums[c][j] / sums[c][3] - merged.centers[c][j]) < 1e-9) }
            }
        }
    }

    @Test func tooFewIterationsIsReportedAsNotConverged() throws {
        let (data, _) = try fixtureData("blobs.csv")
        let fit = try KMeans.fit(data, options: .init(k: 8, seed: 2, initializations: 1, maxIterations: 1, tolerance: 0))
        #expect(!fit.converged)
        #expect(fit.iterations == 1)
    }
}

/// Rows of a Gaussian mixture (Simulation's), as a feature matrix.
func mixture(points: Int, features: Int, clusters: Int, seed: UInt64) -> FeatureMatrix {
    let rows = GaussianMixture(points: points, features: features, clusters: clusters, seed: seed)
    return try! FeatureMatrix(featureNames: (1...features).map { "x\($0)" }, rowMajor: rows.values)
}

@Suite struct ChunkedWorkTests {
    /// Every chunk is handed out once, with its points, whatever the number of workers, and a
    /// worker's number stays below the number of workers.
    @Test(arguments: [1, 2, 3, 8])
    func everyChunkOnce(_ threads: Int) {
        let work = ChunkedWork(points: 10 * ChunkedWork.chunkSize + 5, threads: threads)
        let seen = UnsafeMutableBufferPointer<Int>.allocate(capacity: work.chunkCount)
        seen.initialize(repeating: 0)
        defer { seen.deallocate() }
        let workers = UnsafeMutableBufferPointer<Int>.allocate(capacity: work.chunkCount)
        workers.initialize(repeating: -1)
        defer { workers.deallocate() }
        work.forEachChunk { worker, chunk, points in
            seen[chunk] += points == work.range(chunk) ? 1 : 100
            workers[chunk] = worker
        }
        #expect(Array(seen) == Array(repeating: 1, count: 11))
        #expect(workers.allSatisfy { (0..<work.workers).contains($0) })
        #expect(work.workers == min(threads, 11))
    }
}
