// swift-tools-version:6.1
import PackageDescription

// Layering (dependencies point one way):
//   CBLAS -> TensorMath -> Llama -> fedpilot
//   CNcurses is reserved for the dashboard; no engine target may import it.
let package = Package(
    name: "FedPilot",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fedpilot", targets: ["fedpilot"]),
        .library(name: "TensorMath", targets: ["TensorMath"]),
        .library(name: "Llama", targets: ["Llama"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(
            name: "TensorMath",
            dependencies: ["CBLAS"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "Llama",
            dependencies: ["TensorMath"]
        ),
        .executableTarget(
            name: "fedpilot",
            dependencies: [
                "Llama",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TensorMathTests", dependencies: ["TensorMath"]),
        .testTarget(
            name: "LlamaTests",
            dependencies: ["Llama"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
