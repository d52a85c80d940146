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
        .library(name: "Churn", targets: ["Churn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // BLAS and LAPACK through their C interfaces (Debian: libblas-dev, liblapack-dev,
        // liblapacke-dev). The binary links the generic libblas.so.3, so installing
        // libopenblas0-pthread switches it to OpenBLAS through Debian's alternatives.
        .systemLibrary(
            name: "CLinearAlgebra",
            providers: [.apt(["libblas-dev", "liblapack-dev", "liblapacke-dev"])]
        ),
        .target(name: "LinearAlgebra", dependencies: ["CLinearAlgebra"], exclude: ["README.md"]),
        .target(name: "Transactions", exclude: ["README.md"]),
        .target(name: "LifetimeValue", dependencies: ["LinearAlgebra", "Transactions"]),
        .target(name: "Simulation", exclude: ["README.md"]),
        .target(name: "Churn", dependencies: ["LinearAlgebra", "Transactions", "LifetimeValue", "Simulation"], exclude: ["README.md"]),
        .executableTarget(
            name: "clientele",
            dependencies: [
                "LinearAlgebra", "Transactions", "LifetimeValue", "Simulation", "Churn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "clienteleTests", dependencies: ["clientele"]),
        .testTarget(
            name: "ChurnTests",
            dependencies: ["Churn", "LinearAlgebra", "Transactions", "LifetimeValue", "Simulation"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TransactionsTests",
            dependencies: ["Transactions"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "LifetimeValueTests",
            dependencies: ["LifetimeValue", "Transactions", "Simulation"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
