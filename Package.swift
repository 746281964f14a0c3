// swift-tools-version:6.0
//
// SwiftPM builds the pure logic as an ordinary module and runs its unit
// tests. The preloaded library itself (Embedded Swift + CShim) is built by
// the Makefile, which compiles the same Sources/MapwardenLogic files into it:
// see "Architecture" in README.md.
//
// The `mapwarden` command (Sources/MapwardenCLI) is an ordinary Swift
// executable with swift-argument-parser; it uses MapwardenLogic to parse and
// explain configurations exactly as the library does. `make` builds it with
// `swift build -c release --product mapwarden` and copies it to build/.
import PackageDescription

let package = Package(
    name: "mapwarden",
    products: [
        .library(name: "MapwardenLogic", targets: ["MapwardenLogic"]),
        .executable(name: "mapwarden", targets: ["MapwardenCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "MapwardenLogic", path: "Sources/MapwardenLogic"),
        .testTarget(
            name: "MapwardenLogicTests",
            dependencies: ["MapwardenLogic"],
            path: "Tests/MapwardenLogicTests"
        ),
        // elfutils' libdw (Debian libdw-dev) and the demanglers, for the
        // command's symbolizer only.
        .systemLibrary(name: "CSymbolizer", path: "Sources/CSymbolizer"),
        .executableTarget(
            name: "MapwardenCLI",
            dependencies: [
                "MapwardenLogic",
                "CSymbolizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/MapwardenCLI"
        ),
    ]
)
