// swift-tools-version:6.0
//
// SwiftPM builds the pure logic as an ordinary module and runs its unit
// tests. The preloaded library itself (Embedded Swift + CShim) is built by
// the Makefile, which compiles the same Sources/MapwardenLogic files into it:
// see "Architecture" in README.md.
import PackageDescription

let package = Package(
    name: "mapwarden",
    products: [
        .library(name: "MapwardenLogic", targets: ["MapwardenLogic"]),
    ],
    targets: [
        .target(name: "MapwardenLogic", path: "Sources/MapwardenLogic"),
        .testTarget(
            name: "MapwardenLogicTests",
            dependencies: ["MapwardenLogic"],
            path: "Tests/MapwardenLogicTests"
        ),
    ]
)
