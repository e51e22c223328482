import CacheProtocol
import Kernels
import Testing

@testable import Worker

/// The test key numbered `n`.
func testKey(_ n: Int) throws -> PrefixKey {
    var bytes = [UInt8](repeating: 0, count: Digest32.byteCount)
    bytes[0] = UInt8(truncatingIfNeeded: n)
    bytes[1] = UInt8(truncatingIfNeeded: n >> 8)
    bytes[31] = 0xA5
    return try #require(PrefixKey(bytes: bytes))
}

/// A small geometry: 2 layers, 2 KV heads, head dim 4, 4 tokens a page.
func smallGeometry(_ storage: KVStorageType = .f32, layers: Int = 2, pageSize: Int = 4) throws -> PageGeometry {
    try PageGeometry(layers: layers, kvHeads: 2, headDim: 4, pageSize: pageSize, storage: storage)
}

/// The keys and values of a sequence's first `count` tokens in `layer`, read back from the pools
/// as floats, `[count, kvHeads, headDim]` each.
func readTokens(
    _ manager: SequenceManager,
    _ id: SequenceID,
    layer: Int,
    count: Int
) throws -> (keys: [Float], values: [Float]) {
    let geometry = manager.geometry
    let state = try manager.sequence(id)
    let pool = try manager.store.pool(layer: layer)
    let allKeys = pool.keys.dequantized()
    let allValues = pool.values.dequantized()
    var keys: [Float] = []
    var values: [Float] = []
    for position in 0..<count {
        let page = state.pages[position / geometry.pageSize]
        let start = (page * geometry.pageSize + position % geometry.pageSize) * geometry.tokenWidth
        keys.append(contentsOf: allKeys[start..<start + geometry.tokenWidth])
        values.append(contentsOf: allValues[start..<start + geometry.tokenWidth])
    }
    return (keys, values)
}

/// Appends `tokens` random tokens to every layer of a sequence; returns what was written per layer.
@discardableResult
func appendRandom(
    _ manager: inout SequenceManager,
    _ id: SequenceID,
    tokens: Int,
    random: inout SplitMix64
) throws -> [(keys: [Float], values: [Float], directives: [EvictionDirective])] {
    var written: [(keys: [Float], values: [Float], directives: [EvictionDirective])] = []
    for layer in 0..<manager.geometry.layers {
        let keys = random.floats(tokens * manager.geometry.tokenWidth, in: -4..<4)
        let values = random.floats(tokens * manager.geometry.tokenWidth, in: -4..<4)
        let directives = try manager.append(id, layer: layer, keys: keys, values: values)
        written.append((keys, values, directives))
    }
    return written
}

/// `values` as stored in `storage` and read back as floats.
func stored(_ values: ArraySlice<Float>, as storage: KVStorageType) throws -> [Float] {
    try KVTensor(Array(values), rowLength: 1, storage: storage).dequantized()
}
