#if canImport(Glibc)
import Glibc
#endif

/// Runs a fuzz target. SwiftPM links an executable target's own entry point as `main`, so
/// libFuzzer's `main` is never used: each target's `@main` calls `FuzzDriver.run` with its test
/// function, which hands the command line to libFuzzer's driver.
public enum FuzzDriver {
    /// A test function: called with each input; returns 0. A finding is a crash or sanitizer report.
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer with this process's command line (corpus directories, `-max_total_time=…`,
    /// and so on) and exits with its status.
    public static func run(_ test: TestOneInput) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, test))
    }

    /// The bytes of one input.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// libFuzzer's `LLVMFuzzerRunDriver`: parses libFuzzer's command line and runs `test` on each input.
@_silgen_name("LLVMFuzzerRunDriver")
private func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: FuzzDriver.TestOneInput
) -> CInt
