import Glibc

/// Ceilings of this machine that benchmarks compare their figures with, measured in the same run.
enum MachineCeilings {
    /// A ceiling that could not be measured.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        let description: String
    }

    /// GB/s of the best of five 256 MiB copies.
    static func memcpyGBps() -> Double {
        let bytes = 256 << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); target.deallocate() }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        target.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = ContinuousClock.now
            target.copyMemory(from: source, byteCount: bytes)
            best = min(best, seconds(start.duration(to: .now)))
        }
        return Double(bytes) / best / 1e9
    }

    /// GB/s of writing 64 MiB in 1 MiB writes to a new file in `directory` and fsyncing it.
    static func diskWriteGBps(directory: String) throws(MachineCeilings.Failure) -> Double {
        let path = directory + "/ceiling"
        defer { unlink(path) }
        let chunk = [UInt8](repeating: 0x5A, count: 1 << 20)
        let start = ContinuousClock.now
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "cannot create \(path)") }
        defer { close(descriptor) }
        for _ in 0..<64 {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == chunk.count else { throw Failure(description: "short write to \(path)") }
        }
        guard fsync(descriptor) == 0 else { throw Failure(description: "fsync of \(path) failed") }
        return Double(64 << 20) / seconds(start.duration(to: .now)) / 1e9
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
