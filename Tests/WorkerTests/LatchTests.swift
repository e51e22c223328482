import Testing

@testable import Worker

/// `Latch`: waits end when it opens or when the waiting task is cancelled.
@Suite("Latch", .timeLimit(.minutes(1)))
struct LatchTests {
    @Test("every waiter resumes when the latch opens, and later waits return at once")
    func openResumesWaiters() async {
        let latch = Latch()
        #expect(!latch.isOpen)
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await latch.wait()
                    return latch.isOpen
                }
            }
            latch.open()
            for await opened in group { #expect(opened) }
        }
        latch.open()
        await latch.wait()
        #expect(latch.isOpen)
    }

    @Test("a cancelled wait returns with the latch still closed, whether cancelled before or while waiting")
    func cancellationEndsTheWait() async {
        let latch = Latch()
        let waiting = Task {
            await latch.wait()
            return latch.isOpen
        }
        waiting.cancel()
        #expect(await waiting.value == false)

        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await latch.wait()
            return Task.isCancelled && !latch.isOpen
        }
        #expect(await alreadyCancelled.value)
        #expect(!latch.isOpen)
    }
}
