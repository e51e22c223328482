import CacheProtocol
import Foundation
import Kernels
import Synchronization
import Testing

@testable import Worker

/// A page store on a loopback ROUTER answering PagePut, PageGet, PageContains and PageRemove from
/// a dictionary, as a `--role store` worker would.
final class LoopbackPageStore: Sendable {
    let endpoint: ZMQEndpoint
    let pages = Mutex<[PrefixKey: [UInt8]]>([:])
    private let serving = Mutex<Task<Void, Never>?>(nil)

    init(context: ZMQContext) throws {
        endpoint = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let task = Task { await self.serve() }
        serving.withLock { $0 = task }
    }

    private func serve() async {
        while let frames = try? await endpoint.receive() {
            guard frames.count >= 2, let request = try? Envelope(frames: Array(frames.dropFirst())) else { continue }
            let reply: Message
            switch request.message {
            case let .pagePut(put):
                pages.withLock { for page in put.pages { $0[page.key] = page.bytes } }
                reply = .ack(Ack())
            case let .pageGet(get):
                let found = pages.withLock { held in
                    get.keys.compactMap { key in held[key].map { EncodedPage(key: key, bytes: $0) } }
                }
                reply = .pageGetReply(PageGetReply(pages: found))
            case let .pageContains(contains):
                reply = .pageContainsReply(
                    PageContainsReply(present: pages.withLock { held in contains.keys.map { held[$0] != nil } })
                )
            case let .pageRemove(remove):
                pages.withLock { for key in remove.keys { $0[key] = nil } }
                reply = .ack(Ack())
            default:
                reply = .errorReply(ErrorReply(code: .badRequest, message: "not a page request"))
            }
            guard let out = try? Envelope(requestID: request.requestID, message: reply).encode() else { continue }
            try? await endpoint.send([Array(frames[0])] + out, timeout: .seconds(5))
        }
    }

    var address: String { endpoint.boundEndpoints[0] }

    func close() async {
        await endpoint.close()
        await serving.withLock { $0 }?.value
    }
}

@Suite("Remote tier", .timeLimit(.minutes(1)))
struct RemoteTierTests {
    @Test(
        "pages pushed past the last local tier are served back from the remote store, bit-identical",
        arguments: [KVStorageType.f16, .bf16, .int8]
    )
    func remoteRoundTrip(storage: KVStorageType) async throws {
        let context = try ZMQContext()
        let store = try LoopbackPageStore(context: context)
        let log = CapturedLog()
        let remote = try RemoteTier(
            endpoints: [store.address],
            context: context,
            // Generous: the loopback store answers from a task, which a busy parallel run can delay.
            timeout: .seconds(30),
            logger: log.logger
        )
        let pages = try (0..<3).map { try randomPage(storage, seed: UInt64(300 + $0)) }
        let size = PageCodec().encode(pages[0]).count
        let tiers = PageTiers(
            compressed: try CompressedMemoryTier(capacity: size + size / 2),
            disk: nil,
            remote: remote,
            logger: log.logger
        )
        for (n, page) in pages.enumerated() { #expect(await tiers.demote(key: tierKey(n), page: page).isEmpty) }
        #expect(store.pages.withLock { Set($0.keys) } == [tierKey(0), tierKey(1)])
        #expect(await remote.contains(tierKey(0)))
        #expect(Set(await tiers.keys()) == Set((0..<3).map(tierKey)))
        let found = await tiers.prefetch(keys: [tierKey(0), tierKey(1)])
        #expect(found.map(\.page) == [pages[0], pages[1]])
        #expect(await tiers.promote(key: tierKey(2)) == pages[2])
        let counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_remote_hits"] == 2)
        #expect(counters["tier_remote_moved_in"] == 2)
        #expect(counters["tier_remote_pages"] == 0)
        await tiers.remove(key: tierKey(0))
        _ = await tiers.demote(key: tierKey(0), page: pages[0])
        _ = await tiers.demote(key: tierKey(1), page: pages[1])
        await tiers.remove(key: tierKey(0))
        #expect(await !remote.contains(tierKey(0)))
        await remote.close()
        await store.close()
    }

    @Test("an unreachable remote is a miss and a log line within the timeout, never a hang")
    func unreachable() async throws {
        let context = try ZMQContext()
        let log = CapturedLog()
        let remote = try RemoteTier(
            endpoints: ["tcp://127.0.0.1:9"],
            context: context,
            timeout: .milliseconds(200),
            logger: log.logger
        )
        let tiers = PageTiers(compressed: nil, disk: nil, remote: remote, logger: log.logger)
        #expect(await tiers.demote(key: tierKey(1), page: try randomPage(.f16, seed: 1)) == [tierKey(1)])
        #expect(await remote.get(tierKey(1)) == nil)
        #expect(await !remote.contains(tierKey(1)))
        #expect(log.all.filter { $0.contains("remote tier: request failed") }.count == 3)
        await remote.close()
    }

    @Test("keys spread over several endpoints by their bytes, each looked for where it was put")
    func sharding() async throws {
        let context = try ZMQContext()
        let stores = try (0..<2).map { _ in try LoopbackPageStore(context: context) }
        let remote = try RemoteTier(
            endpoints: stores.map(\.address),
            context: context,
            // Generous: the loopback store answers from a task, which a busy parallel run can delay.
            timeout: .seconds(30),
            logger: CapturedLog().logger
        )
        let page = EncodedPage(key: tierKey(0), bytes: PageCodec().encode(try randomPage(.f16, seed: 4)))
        for n in 0..<8 {
            #expect(await remote.put(EncodedPage(key: tierKey(n), bytes: page.bytes)))
        }
        for n in 0..<8 {
            let index = remote.endpointIndex(of: tierKey(n))
            #expect(stores[index].pages.withLock { $0[tierKey(n)] } == page.bytes)
            #expect(stores[1 - index].pages.withLock { $0[tierKey(n)] } == nil)
            #expect(await remote.get(tierKey(n)) == page.bytes)
        }
        #expect(stores.allSatisfy { !$0.pages.withLock(\.isEmpty) })
        await remote.close()
        for store in stores { await store.close() }
    }
}
