// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Clientele",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "clientele", targets: ["clientele"]),
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "Transactions", targets: ["Transactions"]),
        .library(name: "LifetimeValue", targets: ["LifetimeValue"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Clustering", targets: ["Clustering"]),
        .library(name: "Churn", targets: ["Churn"]),
        .library(name: "JobQueue", targets: ["JobQueue"]),
        .library(name: "Segmentation", targets: ["Segmentation"]),
        .library(name: "CRMStore", targets: ["CRMStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // SHA-256 for the models' data fingerprints (postgres-nio builds it already).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"6.0.0"),
    ],
    targets: [
        // BLAS and LAPACK through their C interfaces (Debian: libblas-dev, liblapack-dev,
        // liblapacke-dev). The binary links the generic libblas.so.3, so installing
        // libopenblas0-pthread switches it to OpenBLAS through Debian's alternatives.
        .systemLibrary(
            name: "CLinearAlgebra",
            providers: [.apt(["libblas-dev", "liblapack-dev", "liblapacke-dev"])]
        ),
        .target(name: "LinearAlgebra", dependencies: ["CLinearAlgebra", "Buffers"], exclude: ["README.md"]),
        // One helper for hot loops over several arrays, shared by Transactions and LinearAlgebra.
        .target(name: "Buffers", exclude: ["README.md"]),
        // glibc's allocator controls, for the command line's memory reuse.
        .systemLibrary(name: "CAllocator"),
        // The open(2) flag for writes past the page cache, which Swift's Glibc module leaves out.
        .systemLibrary(name: "CFileControl"),
        .target(name: "Files", dependencies: ["CFileControl"], exclude: ["README.md"]),
        // A prefetch hint for the loops that land on memory at random.
        .systemLibrary(name: "CPrefetch"),
        .target(name: "Transactions", dependencies: ["Files", "Buffers", "CPrefetch", .product(name: "Crypto", package: "swift-crypto")],
                exclude: ["README.md"]),
        .target(name: "LifetimeValue", dependencies: ["LinearAlgebra", "Transactions", "CPrefetch"], exclude: ["README.md"]),
        .target(name: "Simulation", exclude: ["README.md"]),
        .target(name: "CClusteringKernels", exclude: ["README.md"]),
        .target(name: "Clustering", dependencies: ["LinearAlgebra", "Simulation", "CClusteringKernels"], exclude: ["README.md"]),
        .target(name: "Churn", dependencies: ["LinearAlgebra", "Transactions", "LifetimeValue", "Simulation"], exclude: ["README.md"]),
        .target(
            name: "JobQueue",
            dependencies: ["Files", .product(name: "Logging", package: "swift-log")],
            exclude: ["README.md"]
        ),
        .target(
            name: "Segmentation",
            dependencies: ["Files", "LinearAlgebra", "Transactions", "LifetimeValue", "Churn", "Clustering", "CRMStore"],
            exclude: ["README.md"]
        ),
        .target(
            name: "CRMStore",
            dependencies: [
                "Files",
                "Transactions",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "clientele",
            dependencies: [
                "LinearAlgebra", "Transactions", "LifetimeValue", "Simulation", "Clustering", "Churn", "JobQueue", "Segmentation", "CRMStore",
                "CAllocator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "clienteleTests", dependencies: ["clientele", "LinearAlgebra"]),
        .testTarget(name: "JobQueueTests", dependencies: ["JobQueue"]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "Transactions", "Clustering", "JobQueue"]),
        .testTarget(
            name: "ClusteringTests",
            dependencies: ["Clustering", "Simulation"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ChurnTests",
            dependencies: ["Churn", "LinearAlgebra", "Transactions", "LifetimeValue", "Simulation"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "CRMStoreTests",
            dependencies: [
                "CRMStore", "Simulation",
                // Built for the tests that export from child processes (killed, concurrent).
                "clientele",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "TransactionsTests",
            dependencies: ["Transactions", "Files"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "LifetimeValueTests",
            dependencies: ["LifetimeValue", "Transactions", "Simulation"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
