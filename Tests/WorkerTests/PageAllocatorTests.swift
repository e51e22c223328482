import CacheProtocol
import Kernels
import Testing

@testable import Worker

@Suite("Page allocator and geometry")
struct PageAllocatorTests {
    @Test("every page is handed out once, then the pool reports capacity")
    func exhaustion() throws {
        var allocator = try PageAllocator(pageCount: 4)
        var pages: Set<Int> = []
        for _ in 0..<4 { pages.insert(try allocator.allocate()) }
        #expect(pages == [0, 1, 2, 3])
        #expect(allocator.freeCount == 0)
        #expect(throws: StorageError.capacity(needed: 1, available: 0)) { try allocator.allocate() }
    }

    @Test("references are counted and the last release frees the page")
    func referenceCounts() throws {
        var allocator = try PageAllocator(pageCount: 2)
        let page = try allocator.allocate()
        try allocator.retain(page)
        try allocator.retain(page)
        #expect(try allocator.referenceCount(of: page) == 3)
        #expect(try allocator.release(page) == false)
        #expect(try allocator.release(page) == false)
        #expect(allocator.freeCount == 1)
        #expect(try allocator.release(page) == true)
        #expect(allocator.freeCount == 2)
        #expect(try allocator.referenceCount(of: page) == 0)
        #expect(try allocator.allocate() == page)
    }

    @Test("double release, unknown pages and retaining a free page are typed errors")
    func misuse() throws {
        var allocator = try PageAllocator(pageCount: 2)
        let page = try allocator.allocate()
        try allocator.release(page)
        #expect(throws: StorageError.doubleRelease(page: page)) { try allocator.release(page) }
        #expect(throws: StorageError.pageNotAllocated(page: 1)) { try allocator.retain(1) }
        #expect(throws: StorageError.unknownPage(page: 2, pageCount: 2)) { try allocator.retain(2) }
        #expect(throws: StorageError.unknownPage(page: -1, pageCount: 2)) { try allocator.release(-1) }
        #expect(throws: StorageError.invalidPageCount(0)) { try PageAllocator(pageCount: 0) }
        #expect(allocator.freeCount == 2)
    }

    @Test("a memory budget becomes a page count from the page's byte size")
    func budget() throws {
        let f16 = try smallGeometry(.f16)
        #expect(f16.bytesPerPage == 2 * 2 * 4 * 2 * 4 * 2)
        let int8 = try smallGeometry(.int8)
        #expect(int8.bytesPerPage == 2 * 2 * 4 * 2 * 4 + 2 * 2 * 4 * 2 * 4)
        #expect(try f16.pageCount(memoryBudget: 1000) == 3)
        #expect(throws: StorageError.budgetTooSmall(budget: 100, bytesPerPage: 256)) {
            try f16.pageCount(memoryBudget: 100)
        }
    }

    @Test("impossible geometries are rejected")
    func badGeometry() {
        #expect(throws: StorageError.self) {
            try PageGeometry(layers: 0, kvHeads: 1, headDim: 1, pageSize: 1, storage: .f32)
        }
        #expect(throws: StorageError.self) {
            try PageGeometry(layers: Int.max / 2, kvHeads: 1 << 20, headDim: 1 << 20, pageSize: 16, storage: .f32)
        }
    }

    @Test("page keys need exactly 32 bytes and round-trip them")
    func keys() throws {
        let bytes = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        #expect(try #require(PrefixKey(bytes: bytes)).bytes == bytes)
        #expect(PrefixKey(bytes: Array(bytes.prefix(31))) == nil)
        #expect(try testKey(1) != testKey(2))
    }
}
