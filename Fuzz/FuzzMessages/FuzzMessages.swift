import CacheProtocol
import FuzzSupport

/// The fuzz target of the message decoder. Each input is split into frames by `FrameStream.split`
/// and decoded as one multipart message. The decoder may only return a message or throw
/// `WireError`; a message it returns must survive encoding and decoding unchanged. Anything else —
/// a crash, a sanitizer report, a changed message — is a finding.
@main
enum FuzzMessages {
    static func main() {
        FuzzDriver.run(testOneInput)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let envelope = try? Envelope(frames: FrameStream.split(FuzzDriver.bytes(data, size))) else { return 0 }
    let again: Envelope
    do {
        again = try Envelope(frames: try envelope.encode())
    } catch {
        fatalError("a decoded message failed to encode and decode again: \(error)")
    }
    if again != envelope { fatalError("a decoded message changed on re-encoding: \(envelope.message.type)") }
    return 0
}
