// swift-tools-version:5.9
// The Swift package of e2ee: the uniffi-generated Swift bindings (copy
// target/bindings/swift/E2ee.swift to Sources/E2ee/) over E2eeFFI.xcframework,
// built on macOS as docs/bindings.md describes. Not built or tested here: no
// Swift toolchain runs on the project's Linux machines.
import PackageDescription

let package = Package(
    name: "E2ee",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "E2ee", targets: ["E2ee"])],
    targets: [
        .binaryTarget(name: "E2eeFFI", path: "E2eeFFI.xcframework"),
        .target(name: "E2ee", dependencies: ["E2eeFFI"], path: "Sources/E2ee"),
    ]
)
