import Foundation
import Testing

@testable import Kernels

/// `CPUFeatures`: CPUID and XCR0 read as Linux reads them.
@Suite("CPU features")
struct CPUFeaturesTests {
    @Test("this CPU's sets are the ones /proc/cpuinfo lists")
    func matchesProcCPUInfo() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: ":", maxSplits: 1)[1].split(separator: " ").map(String.init))
        let names = CPUFeatures.current.names
        let known = [
            "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
            "amx_bf16",
        ]
        // Linux lists a set only when the OS enables its state, as `CPUFeatures` requires.
        #expect(names == known.filter(flags.contains), "CPUID gives \(names); /proc/cpuinfo lists \(flags)")
    }

    @Test("a set counts only when the operating system saves its registers")
    func needsTheOSState() {
        // Leaf 1: OSXSAVE, FMA, F16C; leaf 7: AVX2, AVX-512 F/BW/VL, VNNI, AMX tile and bf16;
        // leaf 7.1: AVX512-BF16.
        let leaf1: [UInt32] = [0, 0, (1 << 27) | (1 << 12) | (1 << 29), 0]
        let leaf7: [UInt32] = [1, (1 << 5) | (1 << 16) | (1 << 30) | (1 << 31), 1 << 11, (1 << 24) | (1 << 22)]
        let leaf7s1: [UInt32] = [1 << 5, 0, 0, 0]
        func cpuid(_ leaf: UInt32, _ subleaf: UInt32) -> [UInt32] {
            switch (leaf, subleaf) {
            case (0, _): [7, 0, 0, 0]
            case (1, _): leaf1
            case (7, 0): leaf7
            case (7, 1): leaf7s1
            default: [0, 0, 0, 0]
            }
        }
        let everything = CPUFeatures(cpuid: cpuid, xcr0: { 0b110 | 0b1110_0000 | (0b11 << 17) })
        #expect(everything.names.count == 10)
        let noZMM = CPUFeatures(cpuid: cpuid, xcr0: { 0b110 })
        #expect(noZMM.names == ["avx2", "fma", "f16c"])
        let noYMM = CPUFeatures(cpuid: cpuid, xcr0: { 0b1 })
        #expect(noYMM.names.isEmpty)
        #expect(noYMM.description.hasPrefix("none of"))
    }
}
