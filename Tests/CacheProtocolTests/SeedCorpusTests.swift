import Foundation
import Testing

@testable import CacheProtocol

/// Replays the committed seed corpus of the message fuzzer through the decoder, as the fuzzer does.
@Suite("Seed corpus")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/FuzzMessages")

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        return try names.map { name in
            (name, [UInt8](try Data(contentsOf: corpus.appendingPathComponent(name))))
        }
    }

    @Test func everySeedDecodesOrThrowsATypedError() throws {
        let seeds = try Self.seeds()
        #expect(seeds.count >= 24)
        var decodedTypes: Set<MessageType> = []
        var refused = 0
        for (name, bytes) in seeds {
            do {
                let envelope = try Envelope(frames: FrameStream.split(bytes))
                decodedTypes.insert(envelope.message.type)
                #expect(try Envelope(frames: try envelope.encode()) == envelope, "\(name)")
            } catch {
                #expect(!error.description.isEmpty, "\(name)")
                refused += 1
            }
        }
        #expect(decodedTypes == Set(MessageType.allCases), "the corpus holds a valid seed of every type")
        #expect(refused >= 10, "the corpus holds malformed seeds")
    }

    @Test func frameStreamSplitsWhatItJoinsAndAnyBytes() {
        let frames: [[UInt8]] = [[1, 2, 3], [], [9]]
        #expect(FrameStream.split(FrameStream.join(frames)) == frames)
        #expect(FrameStream.split([]) == [])
        #expect(FrameStream.split([5, 0, 0, 0, 1, 2]) == [[1, 2]])
        #expect(FrameStream.split([1, 0, 0, 0, 7, 8, 9]) == [[7], [8, 9]])
    }
}
