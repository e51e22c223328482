import Foundation
import Kernels
import Testing

@testable import CacheProtocol

/// Replays the committed seed corpus of the page fuzzer through the page decoder, as the fuzzer does.
@Suite("Page seed corpus")
struct PageSeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/FuzzPages")

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        return try names.map { name in
            (name, [UInt8](try Data(contentsOf: corpus.appendingPathComponent(name))))
        }
    }

    @Test("every seed decodes to a page that re-encodes to the same bytes, or throws a typed error")
    func everySeedDecodesOrThrowsATypedError() throws {
        let codec = PageCodec()
        let seeds = try Self.seeds()
        var decodedEncodings: Set<[UInt8]> = []
        var refusals: Set<String> = []
        for (name, bytes) in seeds {
            do {
                let page = try codec.decode(bytes)
                decodedEncodings.insert(Array(bytes[5..<8]))
                #expect(try codec.decode(codec.encode(page)).bytes == page.bytes, "\(name)")
            } catch {
                #expect(!error.description.isEmpty, "\(name)")
                refusals.insert(Mirror(reflecting: error).children.first?.label ?? "\(error)")
            }
        }
        let everyEncoding = KVStorageType.allCases.flatMap { storage in
            PageFilter.allCases.flatMap { filter in
                PageCompression.allCases.map { [KVStorageCode.code(of: storage), filter.rawValue, $0.rawValue] }
            }
        }
        #expect(decodedEncodings == Set(everyEncoding), "a valid seed of every storage type, filter and compression")
        #expect(refusals.count >= 10, "malformed seeds of most error classes: \(refusals.sorted())")
    }
}
