// swift-tools-version:6.1
// The benchmark suite: its own package, so that package-benchmark and its dependencies
// never reach users of Clientele or the test command.
import PackageDescription

let package = Package(
    name: "ClienteleBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Clientele", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "Summaries",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Transactions", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
            ],
            path: "Benchmarks/Summaries",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "KMeansBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LinearAlgebra", package: "Clientele"),
                .product(name: "Clustering", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
            ],
            path: "Benchmarks/Clustering",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            // Not "Churn": the executable's module would shadow the library it measures.
            name: "ChurnFit",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LinearAlgebra", package: "Clientele"),
                .product(name: "Churn", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
            ],
            path: "Benchmarks/Churn",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "CRMExport",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "CRMStore", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/CRMExport",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Fits",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LinearAlgebra", package: "Clientele"),
                .product(name: "LifetimeValue", package: "Clientele"),
                .product(name: "Transactions", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
            ],
            path: "Benchmarks/Fits",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            // Not "Pipeline": the executable's module would shadow the type it measures.
            name: "EndToEnd",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LinearAlgebra", package: "Clientele"),
                .product(name: "Segmentation", package: "Clientele"),
                .product(name: "Clustering", package: "Clientele"),
                .product(name: "Transactions", package: "Clientele"),
                .product(name: "Simulation", package: "Clientele"),
            ],
            path: "Benchmarks/Pipeline",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "QueueOverhead",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "JobQueue", package: "Clientele"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/QueueOverhead",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
