import CLinux

/// The instruction sets this CPU has and the operating system lets programs use, read from CPUID
/// and XCR0: what an operator checks across a fleet of mixed hosts, printed by `bench kernels` and
/// logged by `mfa-worker` at start.
///
/// A set counts only when the OS saves its registers: AVX and AVX2 need the YMM state (XCR0 bits
/// 1–2), AVX-512 also the opmask and ZMM states (bits 5–7), AMX the tile states (bits 17–18; a
/// process must still request AMX from Linux before its first tile instruction).
public struct CPUFeatures: Sendable, Hashable, CustomStringConvertible {
    /// AVX2 (256-bit integer vectors).
    public var avx2 = false
    /// Fused multiply-add on 256-bit vectors.
    public var fma = false
    /// Half-precision conversion (`vcvtph2ps`).
    public var f16c = false
    /// AVX-512 Foundation.
    public var avx512f = false
    /// AVX-512 byte and word instructions.
    public var avx512bw = false
    /// AVX-512 on 128- and 256-bit vectors.
    public var avx512vl = false
    /// AVX-512 VNNI (`vpdpbusd`, `vpdpwssd`).
    public var avx512VNNI = false
    /// AVX-512 BF16 (`vdpbf16ps`).
    public var avx512BF16 = false
    /// AMX tiles.
    public var amxTile = false
    /// AMX bf16 multiplication (`tdpbf16ps`).
    public var amxBF16 = false

    /// The features of the CPU this process runs on (all false on a machine that is not x86-64).
    public static let current = CPUFeatures(
        cpuid: { leaf, subleaf in
            var registers: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            let known = withUnsafeMutableBytes(of: &registers) { raw in
                mfa_cpuid(leaf, subleaf, raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self)) == 0
            }
            return known ? [registers.0, registers.1, registers.2, registers.3] : [0, 0, 0, 0]
        },
        xcr0: { mfa_xcr0() }
    )

    /// Features from a CPUID reader (`cpuid(leaf, subleaf)` gives EAX, EBX, ECX and EDX) and an
    /// XCR0 reader, called only when CPUID reports that the OS enabled XGETBV.
    init(cpuid: (UInt32, UInt32) -> [UInt32], xcr0: () -> UInt64) {
        func bit(_ value: UInt32, _ index: Int) -> Bool { value & (1 << UInt32(index)) != 0 }
        let leaf1 = cpuid(1, 0)
        guard bit(leaf1[2], 27) else { return }  // OSXSAVE: no XGETBV, no AVX state
        let xcr = xcr0()
        let ymm = xcr & 0b110 == 0b110
        let zmm = ymm && xcr & 0b1110_0000 == 0b1110_0000
        let tiles = xcr & (0b11 << 17) == (0b11 << 17)
        let highest = cpuid(0, 0)[0]
        let leaf7 = highest >= 7 ? cpuid(7, 0) : [0, 0, 0, 0]
        let leaf7s1 = highest >= 7 && leaf7[0] >= 1 ? cpuid(7, 1) : [0, 0, 0, 0]
        avx2 = ymm && bit(leaf7[1], 5)
        fma = ymm && bit(leaf1[2], 12)
        f16c = ymm && bit(leaf1[2], 29)
        avx512f = zmm && bit(leaf7[1], 16)
        avx512bw = zmm && bit(leaf7[1], 30)
        avx512vl = zmm && bit(leaf7[1], 31)
        avx512VNNI = zmm && bit(leaf7[2], 11)
        avx512BF16 = zmm && bit(leaf7s1[0], 5)
        amxTile = tiles && bit(leaf7[3], 24)
        amxBF16 = tiles && bit(leaf7[3], 22)
    }

    /// The names of the sets present, as Linux's `/proc/cpuinfo` flags spell them (`avx2`, `fma`,
    /// `f16c`, `avx512f`, `avx512bw`, `avx512vl`, `avx512_vnni`, `avx512_bf16`, `amx_tile`,
    /// `amx_bf16`).
    public var names: [String] {
        [
            (avx2, "avx2"), (fma, "fma"), (f16c, "f16c"), (avx512f, "avx512f"), (avx512bw, "avx512bw"),
            (avx512vl, "avx512vl"), (avx512VNNI, "avx512_vnni"), (avx512BF16, "avx512_bf16"),
            (amxTile, "amx_tile"), (amxBF16, "amx_bf16"),
        ].compactMap { $0.0 ? $0.1 : nil }
    }

    /// `avx2 fma f16c avx512f … avx512_bf16`, or `none of avx2 … amx_bf16`.
    public var description: String {
        names.isEmpty ? "none of avx2, fma, f16c, avx512, amx" : names.joined(separator: " ")
    }
}
