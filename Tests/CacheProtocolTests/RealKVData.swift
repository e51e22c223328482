import Foundation
import Kernels
@testable import CacheProtocol

/// The shared real KV file (`../shared/data/minilm-kv-a.npy` from the package root), float16
/// `[6, 2, 420, 12, 32]`, cut into pages for codec tests.
enum RealKVData {
    static let layers = 6, tokens = 420, heads = 12, headDim = 32

    static var url: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/minilm-kv-a.npy").standardizedFileURL
    }

    /// Every value of the file as `Float`, in file order; throws if the file is missing or not the
    /// expected float16 array.
    static func values() throws -> [Float] {
        let data = try Data(contentsOf: url)
        let count = layers * 2 * tokens * heads * headDim
        guard data.count >= 10 else { throw CocoaError(.fileReadCorruptFile) }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let start = 10 + headerLength
        guard data.count == start + 2 * count,
              let header = String(data: data[10..<start], encoding: .ascii), header.contains("'<f2'") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self))) }
        }
    }

    /// The values of tokens `first..<first + filled`, padded with zero tokens to `pageSize`, in page
    /// order `[layers, 2, pageSize, heads, headDim]`.
    static func page(_ all: [Float], first: Int, filled: Int, pageSize: Int = 16) -> [Float] {
        var out = [Float](repeating: 0, count: layers * 2 * pageSize * heads * headDim)
        let row = heads * headDim
        for lk in 0..<(layers * 2) {
            for t in 0..<filled {
                let src = (lk * tokens + first + t) * row
                let dst = (lk * pageSize + t) * row
                out.replaceSubrange(dst..<dst + row, with: all[src..<src + row])
            }
        }
        return out
    }

    static func layout(_ storage: KVStorageType, pageSize: Int = 16) throws -> PageLayout {
        try PageLayout(layers: layers, pageSize: pageSize, kvHeads: heads, headDim: headDim, storage: storage)
    }
}
