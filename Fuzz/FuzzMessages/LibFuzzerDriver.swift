// SwiftPM links an executable target's entry point as `main`, so libFuzzer's own `main` is not
// used: the target's `main` hands control to libFuzzer's driver with the test function.

/// libFuzzer's driver (`LLVMFuzzerRunDriver` in libFuzzer): parses libFuzzer's command line and
/// runs `callback` on each input.
@_silgen_name("LLVMFuzzerRunDriver")
func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
