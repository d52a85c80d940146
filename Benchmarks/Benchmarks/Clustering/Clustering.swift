import Benchmark
import Clustering
import Foundation
import LinearAlgebra
import Simulation

/// k-means on 1M customers × 6 features, k = 8, 10 initializations: the whole fit with the
/// automatic choice (also at 10k and 100k) and with each algorithm forced, the seeding alone, one initialization
/// stopped after 1 and after 21 Lloyd iterations (tolerance 0; the difference over 20 is the
/// cost of one iteration), and one plain pass over the data (the column sums), which is the
/// floor an iteration is compared with. The data are a mixture of eight overlapping Gaussian
/// clusters with random centers, generated once from a seed and written as raw doubles to the
/// temporary directory, where Benchmarks/python/kmeans.py reads them to run scikit-learn on
/// the same data.
let benchmarks: @Sendable () -> Void = {
    // As `clientele` does: each BLAS call on its caller's thread (see BLASLibrary).
    BLASLibrary.keepCallsOnTheirThread()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 5
    )
    let data = mixture(points: 1_000_000, features: 6, clusters: 8, seed: 42)
    let path = NSTemporaryDirectory() + "clientele-bench-kmeans-1000000x6-seed42.f64"
    if !FileManager.default.fileExists(atPath: path) {
        try? data.values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
    let options = KMeans.Options(k: 8, seed: 42, initializations: 10)

    for algorithm in KMeans.Algorithm.allCases {
        Benchmark("k-means 1M×6, k=8, n_init=10, \(algorithm.rawValue)") { benchmark in
            var forced = options
            forced.algorithm = algorithm
            for _ in benchmark.scaledIterations {
                blackHole(try KMeans.fit(data, options: forced))
            }
        }
    }

    // The automatic fit at the smaller sizes of the other suites.
    for points in [10_000, 100_000] {
        let smaller = mixture(points: points, features: 6, clusters: 8, seed: 42)
        Benchmark("k-means \(points / 1000)k×6, k=8, n_init=10, automatic") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try KMeans.fit(smaller, options: options))
            }
        }
    }

    Benchmark("k-means++ seeding 1M×6, k=8, one initialization") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try KMeans.initialCenters(data, options: options))
        }
    }

    for iterations in [1, 21] {
        Benchmark("k-means 1M×6, k=8, one initialization, \(iterations) Lloyd iteration\(iterations == 1 ? "" : "s")") { benchmark in
            let stopped = KMeans.Options(k: 8, seed: 42, initializations: 1, maxIterations: iterations, tolerance: 0,
                                         algorithm: .lloyd)
            for _ in benchmark.scaledIterations {
                blackHole(try KMeans.fit(data, options: stopped))
            }
        }
    }

    Benchmark("one pass over the data 1M×6 (column sums)") { benchmark in
        for _ in benchmark.scaledIterations {
            var sums = [Double](repeating: 0, count: data.dimension)
            data.values.withUnsafeBufferPointer { values in
                for i in 0..<data.count {
                    for j in 0..<data.dimension { sums[j] += values[i * data.dimension + j] }
                }
            }
            blackHole(sums)
        }
    }
}

func mixture(points: Int, features: Int, clusters: Int, seed: UInt64) -> FeatureMatrix {
    let rows = GaussianMixture(points: points, features: features, clusters: clusters, seed: seed)
    return try! FeatureMatrix(featureNames: (1...features).map { "x\($0)" }, rowMajor: rows.values)
}
