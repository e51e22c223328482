// swift-tools-version:6.2
import Foundation
import PackageDescription

/// Whether the build machine's CPU has AVX-512 VNNI on 256-bit vectors (`avx512_vnni` and
/// `avx512vl` among the flags of /proc/cpuinfo). Kernels are compiled for that CPU, so the
/// condition `AVX512_VNNI` they see says which instructions the build may use: with it, int8
/// decode multiplies 8-bit weights (`vpdpbusd`).
let buildMachineHasVNNI: Bool = {
    guard let cpuInfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flags = cpuInfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let names = Set(flags.split(separator: " "))
    return names.contains("avx512_vnni") && names.contains("avx512vl")
}()

/// Kernels are always compiled with optimisation and for the build machine's CPU: without a target
/// CPU, `SIMD16<Float>` arithmetic is scalarised and FMA becomes a libm call per lane. Only the
/// kernels get these flags: the protocol a model process links stays portable.
let kernelSettings: [SwiftSetting] =
    [
        .unsafeFlags(["-O", "-target-cpu", "native"])
    ] + (buildMachineHasVNNI ? [.define("AVX512_VNNI")] : [])

/// `make fuzz` sets MFA_FUZZ=1: the libFuzzer targets under `Fuzz/<name>/` (each an `@main` that
/// calls `FuzzDriver.run` from `Fuzz/FuzzSupport`) are added, and the code they exercise is compiled
/// with the fuzzer's coverage instrumentation and AddressSanitizer. Normal builds see none of this.
/// A new target is one more name here and in the Makefile's FUZZ_TARGETS.
let fuzzing = Context.environment["MFA_FUZZ"] == "1"
let fuzzTargets = ["FuzzMessages", "FuzzPages"]
let fuzzFlags: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []

let package = Package(
    name: "mfa-cluster",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "CacheProtocol", targets: ["CacheProtocol"]),
        .library(name: "Worker", targets: ["Worker"]),
        .library(name: "Coordinator", targets: ["Coordinator"]),
        .executable(name: "mfa-worker", targets: ["mfa-worker"]),
        .executable(name: "mfa-coordinator", targets: ["mfa-coordinator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        // Linux system calls glibc does not wrap for Swift (pidfd_open).
        .systemLibrary(name: "CLinux"),

        // How K/V elements are stored; shared by the kernels and the protocol, portable.
        .target(name: "KVStorage"),
        // CPU attention kernels: pure compute, built for the build machine's CPU.
        .target(name: "Kernels", dependencies: ["KVStorage", "CLinux"], swiftSettings: kernelSettings),
        // What two processes must agree on, and the client a model process links: portable, no kernels.
        .target(
            name: "CacheProtocol",
            dependencies: [
                "CZeroMQ", "CLZ4", "CXXHash", "CLinux", "KVStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.unsafeFlags(["-O"])] + fuzzFlags
        ),
        // The worker's logic (pages, sequences, tiers, attention service) and its socket shell.
        .target(
            name: "Worker",
            dependencies: [
                "Kernels", "CacheProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The coordinator's logic and the operator tools (run, bench, attention).
        .target(
            name: "Coordinator",
            dependencies: [
                "Kernels", "CacheProtocol", "CZeroMQ", "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "mfa-worker",
            dependencies: ["Worker", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "mfa-coordinator",
            dependencies: [
                "Coordinator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The test kit every test target shares: fixtures, process launching, references.
        .target(
            name: "TestSupport",
            dependencies: ["Kernels", "CacheProtocol", "Coordinator"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "CacheProtocolTests", dependencies: ["CacheProtocol", "Kernels", "TestSupport"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "CacheProtocol", "Kernels", "TestSupport"]),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: ["Coordinator", "CacheProtocol", "Kernels", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

if fuzzing {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport", swiftSettings: fuzzFlags))
    for name in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: ["CacheProtocol", "FuzzSupport"],
                path: "Fuzz/\(name)",
                swiftSettings: fuzzFlags,
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
            )
        )
    }
}
