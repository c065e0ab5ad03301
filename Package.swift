// swift-tools-version:6.1
import PackageDescription

// Layering (dependencies point one way):
//   CBLAS, CKernels -> TensorMath -> Llama -> Federation -> Journal -> Report -> fedpilot; Privacy, SecureAggregation -> Federation
//   CNcurses -> Dashboard -> fedpilot; the Dashboard reads Federation's events, and no engine
//   target may import the Dashboard or ncurses.
//   Federation -> Deployment (gRPC + mutual TLS) -> fedpilot; no engine target imports gRPC.
/// The numeric Swift modules' loops (cross-entropy, activations, norms, attention's softmax,
/// AdamW) vectorised for AVX2 in release builds (-target-cpu haswell: AVX2, FMA, F16C, BMI), as
/// the C kernels already require (-mavx2 -mfma -mf16c). Swift does not contract a * b + c into
/// FMAs, so the results keep their bits; only the vector width changes.
let releaseAVX2 = SwiftSetting.unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .release))

let package = Package(
    name: "FedPilot",
    platforms: [.macOS(.v15)],  // gRPC Swift 2 needs macOS 15
    products: [
        .executable(name: "fedpilot", targets: ["fedpilot"]),
        .library(name: "TensorMath", targets: ["TensorMath"]),
        .library(name: "Llama", targets: ["Llama"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CNcurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),
        // Hand-written AVX2/FMA kernels (pre-packed GEMM for the frozen weights).
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"], .when(platforms: [.linux]))]
        ),
        .target(
            name: "TensorMath",
            dependencies: ["CBLAS", "CKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release)), releaseAVX2]
        ),
        .target(
            name: "Llama",
            dependencies: ["TensorMath"],
            swiftSettings: [releaseAVX2]
        ),
        .target(name: "Privacy"),
        .target(
            name: "SecureAggregation",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "Federation",
            dependencies: ["Llama", "TensorMath", "Privacy", "SecureAggregation", .product(name: "TOMLKit", package: "TOMLKit"),
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "Journal",
            dependencies: ["Federation", "Llama", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The shareable run report (HTML with inline SVG charts, and CSV files) built from a journal.
        .target(
            name: "Report",
            dependencies: ["Journal", "Federation"]
        ),
        // A network deployment: the coordinator and its clients over gRPC with mutual TLS.
        .target(
            name: "Deployment",
            dependencies: [
                "Federation", "Llama", "SecureAggregation",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Dashboard",
            dependencies: ["Federation", "CNcurses"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "fedpilot",
            dependencies: [
                "Llama", "TensorMath", "Federation", "Journal", "Privacy", "SecureAggregation", "Dashboard", "Report", "Deployment",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer targets for the parsers (scripts/fuzz.sh builds them with -sanitize=fuzzer in
        // .build-fuzz); a normal build makes the same code a corpus replayer and seed writer.
        .executableTarget(
            name: "fedpilot-fuzz",
            dependencies: [
                "Llama", "TensorMath", "Federation", "SecureAggregation", "Deployment",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Fuzz"
        ),
        .testTarget(name: "TensorMathTests", dependencies: ["TensorMath"]),
        .testTarget(name: "FederationTests", dependencies: ["Federation", "Llama", "Privacy", "TensorMath"], exclude: ["Fixtures"]),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "Federation", "Privacy", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Journal", "Federation", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "Federation"], exclude: ["Snapshots"]),
        .testTarget(
            name: "DeploymentTests",
            dependencies: [
                "Deployment", "Federation", "Journal", "Llama",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(name: "SecureAggregationTests", dependencies: ["SecureAggregation"]),
        .testTarget(name: "PrivacyTests", dependencies: ["Privacy"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LlamaTests",
            dependencies: ["Llama"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
