import CacheProtocol
import Glibc

/// The fuzz target for the message decoder. The input is split into frames by
/// `FrameStream.split` and decoded as one multipart message. The decoder may only return a message
/// or throw `WireError`; a message it returns must survive encoding and decoding unchanged.
/// Anything else — a crash, a sanitizer report, a changed message — is a finding.
@main
enum FuzzMessages {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, testOneInput))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let frames = FrameStream.split(Array(UnsafeBufferPointer(start: data, count: size)))
    guard let envelope = try? Envelope(frames: frames) else { return 0 }
    let again: Envelope
    do {
        again = try Envelope(frames: try envelope.encode())
    } catch {
        fatalError("a decoded message failed to encode and decode again: \(error)")
    }
    if again != envelope { fatalError("a decoded message changed on re-encoding: \(envelope.message.type)") }
    return 0
}
