import CacheProtocol
import FuzzSupport

/// The fuzz target of the page decoder. Each input is one encoded page. The decoder may only return
/// a page or throw `PageCodecError`; a page it returns must encode (with the default policy) and
/// decode again to the same raw bytes. Anything else — a crash, a sanitizer report, a changed page —
/// is a finding.
@main
enum FuzzPages {
    static func main() {
        FuzzDriver.run(testOneInput)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let codec = PageCodec()
    guard let page = try? codec.decode(FuzzDriver.bytes(data, size)) else { return 0 }
    let again: RawPage
    do {
        again = try codec.decode(codec.encode(page))
    } catch {
        fatalError("a decoded page failed to encode and decode again: \(error)")
    }
    if again != page { fatalError("a decoded page changed on re-encoding: \(page.layout)") }
    return 0
}
