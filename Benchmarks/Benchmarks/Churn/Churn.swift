#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import Churn
import LinearAlgebra
import Simulation

/// The churn model's fit: 10k, 100k and 1M customers × 10 standardised features, labels drawn from a known
/// logistic model (seeded), fitted by Newton/IRLS without and with an L2 penalty. A fit is
/// everything `ChurnModel.fit` does: the standardisation, the design copy, the Newton
/// iterations (XᵀWX by BLAS syrk, solved by LAPACK Cholesky) and the standard errors.
/// The data are generated once, outside the measurement.
let benchmarks: @Sendable () -> Void = {
    // As `clientele` does: each BLAS call on its caller's thread (see BLASLibrary).
    BLASLibrary.keepCallsOnTheirThread()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 10
    )

    for customers in [10_000, 100_000, 1_000_000] {
        for penalty in [0.0, 1.0] {
            Benchmark("logistic fit, \(customers) customers × 10 features, penalty \(penalty)") { benchmark, data in
                for _ in benchmark.scaledIterations {
                    blackHole(try ChurnModel.fit(
                        features: data.features, labels: data.labels, specification: data.specification, label: .noHoldoutPurchase,
                        penalty: penalty, classWeights: .none, timeUnit: "weeks", dataFingerprint: "", clienteleVersion: "benchmark"))
                }
            } setup: {
                syntheticChurnData(customers: customers)
            }
        }
    }
}

struct SyntheticChurnData {
    var features: FeatureMatrix
    var labels: [Double]
    var specification: FeatureSpecification
}

/// Ten features on different scales (normal, exponential, counts), churn from a logistic
/// model with a few strong and a few null coefficients.
func syntheticChurnData(customers n: Int) -> SyntheticChurnData {
    var random = SeededRandom(seed: 42)
    let slopes = [0.8, -0.5, 0.3, 0, 0, 0.2, -0.1, 0, 0.4, -0.6]
    var columns = [[Double]](repeating: [Double](repeating: 0, count: n), count: 10)
    var labels = [Double](repeating: 0, count: n)
    for i in 0..<n {
        var eta = 0.5
        for j in 0..<10 {
            let value: Double
            switch j % 3 {
            case 0: value = random.standardNormal()
            case 1: value = random.exponential(rate: 0.1)
            default: value = Double(Int(random.exponential(rate: 0.5)))
            }
            columns[j][i] = value
            eta += slopes[j] * (j % 3 == 1 ? (value - 10) / 10 : value)
        }
        labels[i] = random.uniform() < 1 / (1 + exp(-eta)) ? 1 : 0
    }
    let names = (1...10).map { "feature_\($0)" }
    let specification = FeatureSpecification(summaryFeatures: [], purchaseFeatures: [], purchaseModel: nil, attributes: [])
    return SyntheticChurnData(features: FeatureMatrix(names: names, columns: columns), labels: labels, specification: specification)
}
