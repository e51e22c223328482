import CacheProtocol
import Logging
import Testing

@testable import Worker

/// `WorkerStatusBoard`: what heartbeats read, and when a drain has ended.
@Suite("WorkerStatusBoard")
struct WorkerStatusBoardTests {
    @Test("the board shows the last published status; drained opens only when draining with no sequence")
    func publishAndDrain() {
        let board = WorkerStatusBoard(load: CoordinatorLink.Status(liveSequences: 0, freePages: 64, cachedPages: 0))
        #expect(board.load == CoordinatorLink.Status(liveSequences: 0, freePages: 64, cachedPages: 0))

        board.publish(CoordinatorLink.Status(liveSequences: 0, freePages: 60, cachedPages: 3), draining: false)
        #expect(board.load.cachedPages == 3)
        #expect(!board.drained.isOpen)

        board.publish(CoordinatorLink.Status(liveSequences: 2, freePages: 40, cachedPages: 3), draining: true)
        #expect(board.isDraining)
        #expect(!board.drained.isOpen)

        board.publish(CoordinatorLink.Status(liveSequences: 0, freePages: 60, cachedPages: 5), draining: true)
        #expect(board.drained.isOpen)
        #expect(board.load == CoordinatorLink.Status(liveSequences: 0, freePages: 60, cachedPages: 5))
    }

    @Test("the service publishes after each request, and the close of the last sequence ends a drain")
    func servicePublishes() async throws {
        let spec = try ModelSpec(parsing: "name=s,layers=1,q-heads=2,kv-heads=1,head-dim=8,kv=f32,page=4")
        let service = try WorkerService(
            spec: spec,
            role: .compute,
            workerID: 3,
            pageCount: 16,
            tiers: NoLowerTiers(),
            peers: ClusterPagePeers(context: try ZMQContext()),
            threads: 1,
            logger: Logger(label: "test")
        )
        func send(_ id: UInt64, _ message: Message) async -> Message? {
            await service.handle(Envelope(requestID: id, message: message)).reply?.message
        }
        guard
            case .openSequenceReply(let opened)? = await send(
                1,
                .openSequence(OpenSequence(sequenceID: 0, namespace: "n", shardStart: 0, tokens: [1, 2, 3, 4, 5]))
            )
        else {
            Issue.record("the sequence was not opened")
            return
        }
        #expect(service.statusBoard.load.liveSequences == 1)
        #expect(await send(2, .drain(Drain(workerID: 3))) == .ack(Ack()))
        #expect(service.statusBoard.isDraining)
        #expect(!service.statusBoard.drained.isOpen)

        guard
            case .errorReply(let refusal)? = await send(
                3,
                .openSequence(OpenSequence(sequenceID: 0, namespace: "n", shardStart: 0, tokens: [9]))
            )
        else {
            Issue.record("a draining worker opened a sequence")
            return
        }
        #expect(refusal.code == .unavailable)
        #expect(!service.statusBoard.drained.isOpen)

        #expect(
            await send(4, .closeSequence(CloseSequence(sequenceID: opened.sequenceID, commit: false))) == .ack(Ack())
        )
        #expect(service.statusBoard.load.liveSequences == 0)
        #expect(service.statusBoard.drained.isOpen)
    }
}
