import Kernels

/// The K/V data of every hot page: one `Kernels.KVPagePool` per layer, all sharing page ids (page
/// `p` is slot `p` of every layer's pool).
///
/// Pages move in and out in the canonical page layout: the elements `[layers, 2 (K, V), pageSize,
/// kvHeads, headDim]` as little-endian bytes of the storage type, followed for int8 by the scales
/// `[layers, 2, pageSize, kvHeads]` as little-endian `Float`. Export then import is bit-exact.
public struct KVPageStore: Sendable {
    /// Shape of every page.
    public let geometry: PageGeometry
    /// Pages in every layer's pool.
    public let pageCount: Int
    private var pools: [KVPagePool]

    /// Zero-filled pools of `pageCount` pages for every layer.
    public init(geometry: PageGeometry, pageCount: Int) throws(StorageError) {
        guard pageCount > 0 else { throw .invalidPageCount(pageCount) }
        let (_, overflow) = pageCount.multipliedReportingOverflow(by: geometry.bytesPerPage)
        guard !overflow else { throw .invalidGeometry("\(pageCount) pages overflow the address space") }
        self.geometry = geometry
        self.pageCount = pageCount
        var pools: [KVPagePool] = []
        pools.reserveCapacity(geometry.layers)
        for _ in 0..<geometry.layers {
            do {
                pools.append(
                    try KVPagePool(
                        pageCount: pageCount,
                        pageSize: geometry.pageSize,
                        kvHeads: geometry.kvHeads,
                        headDim: geometry.headDim,
                        storage: geometry.storage
                    )
                )
            } catch {
                throw .invalidGeometry(error.description)
            }
        }
        self.pools = pools
    }

    /// The pool of one layer, as the paged attention kernel reads it.
    public func pool(layer: Int) throws(StorageError) -> KVPagePool {
        try checkLayer(layer)
        return pools[layer]
    }

    /// Writes one token's K and V (`kvHeads × headDim` floats each, `[Hkv, D]`) for `layer` into
    /// `slot` of `page`, rounding or quantising to the storage type.
    public mutating func write(
        layer: Int,
        page: Int,
        slot: Int,
        keys: ArraySlice<Float>,
        values: ArraySlice<Float>
    ) throws(StorageError) {
        try checkLayer(layer)
        try checkPage(page)
        guard slot >= 0, slot < geometry.pageSize else {
            throw .slotOutOfRange(slot: slot, pageSize: geometry.pageSize)
        }
        let width = geometry.tokenWidth
        guard keys.count == width else { throw .shapeMismatch(what: "token keys", expected: width, actual: keys.count) }
        guard values.count == width else {
            throw .shapeMismatch(what: "token values", expected: width, actual: values.count)
        }
        let headDim = geometry.headDim
        let firstRow = (page * geometry.pageSize + slot) * geometry.kvHeads
        keys.withUnsafeBufferPointer { source in
            for head in 0..<geometry.kvHeads {
                let start = head * headDim
                pools[layer].keys.setRow(
                    firstRow + head,
                    from: UnsafeBufferPointer(rebasing: source[start..<start + headDim])
                )
            }
        }
        values.withUnsafeBufferPointer { source in
            for head in 0..<geometry.kvHeads {
                let start = head * headDim
                pools[layer].values.setRow(
                    firstRow + head,
                    from: UnsafeBufferPointer(rebasing: source[start..<start + headDim])
                )
            }
        }
    }

    /// Copies every layer's K and V (and int8 scales) of page `source` over page `destination`.
    public mutating func copyPage(from source: Int, to destination: Int) throws(StorageError) {
        try checkPage(source)
        try checkPage(destination)
        guard source != destination else { return }
        let chunk = elementBytesPerLayerSide
        let rows = rowsPerPage
        for layer in 0..<geometry.layers {
            pools[layer].keys.bytes.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                (base + destination * chunk).copyMemory(from: base + source * chunk, byteCount: chunk)
            }
            pools[layer].values.bytes.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                (base + destination * chunk).copyMemory(from: base + source * chunk, byteCount: chunk)
            }
            if geometry.storage == .int8 {
                for row in 0..<rows {
                    pools[layer].keys.scales[destination * rows + row] = pools[layer].keys.scales[source * rows + row]
                    pools[layer].values.scales[destination * rows + row] =
                        pools[layer].values.scales[source * rows + row]
                }
            }
        }
    }

    /// The page's bytes in the canonical page layout (`geometry.bytesPerPage` bytes).
    public func exportPage(_ page: Int) throws(StorageError) -> [UInt8] {
        try checkPage(page)
        let chunk = elementBytesPerLayerSide
        var out: [UInt8] = []
        out.reserveCapacity(geometry.bytesPerPage)
        for layer in 0..<geometry.layers {
            out.append(contentsOf: pools[layer].keys.bytes[page * chunk..<(page + 1) * chunk])
            out.append(contentsOf: pools[layer].values.bytes[page * chunk..<(page + 1) * chunk])
        }
        if geometry.storage == .int8 {
            let rows = rowsPerPage
            for layer in 0..<geometry.layers {
                for tensor in [pools[layer].keys, pools[layer].values] {
                    for scale in tensor.scales[page * rows..<(page + 1) * rows] {
                        let bits = scale.bitPattern
                        for shift in stride(from: UInt32(0), to: 32, by: 8) {
                            out.append(UInt8(truncatingIfNeeded: bits >> shift))
                        }
                    }
                }
            }
        }
        return out
    }

    /// Checks that `bytes` is a page in the canonical layout: exactly `geometry.bytesPerPage`
    /// bytes, and for int8 every scale finite and non-negative.
    public func validatePage(_ bytes: [UInt8]) throws(StorageError) {
        _ = try decodeScales(bytes)
    }

    /// Overwrites page `page` with `bytes` in the canonical page layout, validated as by
    /// `validatePage`; on error the page is left unchanged.
    public mutating func importPage(_ bytes: [UInt8], into page: Int) throws(StorageError) {
        try checkPage(page)
        let scales = try decodeScales(bytes)
        let chunk = elementBytesPerLayerSide
        let rows = rowsPerPage
        for layer in 0..<geometry.layers {
            let keyStart = 2 * layer * chunk
            pools[layer].keys.bytes.replaceSubrange(
                page * chunk..<(page + 1) * chunk,
                with: bytes[keyStart..<keyStart + chunk]
            )
            pools[layer].values.bytes.replaceSubrange(
                page * chunk..<(page + 1) * chunk,
                with: bytes[keyStart + chunk..<keyStart + 2 * chunk]
            )
            if geometry.storage == .int8 {
                let keyScales = 2 * layer * rows
                pools[layer].keys.scales.replaceSubrange(
                    page * rows..<(page + 1) * rows,
                    with: scales[keyScales..<keyScales + rows]
                )
                pools[layer].values.scales.replaceSubrange(
                    page * rows..<(page + 1) * rows,
                    with: scales[keyScales + rows..<keyScales + 2 * rows]
                )
            }
        }
    }

    /// Validates the length of canonical page bytes and returns their int8 scales (empty for the
    /// other storage types), each checked finite and non-negative.
    private func decodeScales(_ bytes: [UInt8]) throws(StorageError) -> [Float] {
        guard bytes.count == geometry.bytesPerPage else {
            throw .pageBytesLength(expected: geometry.bytesPerPage, actual: bytes.count)
        }
        guard geometry.storage == .int8 else { return [] }
        let scaleStart = 2 * geometry.layers * elementBytesPerLayerSide
        let count = 2 * geometry.layers * rowsPerPage
        var scales: [Float] = []
        scales.reserveCapacity(count)
        for index in 0..<count {
            let offset = scaleStart + 4 * index
            var bits: UInt32 = 0
            for byte in bytes[offset..<offset + 4].reversed() { bits = bits << 8 | UInt32(byte) }
            let scale = Float(bitPattern: bits)
            guard scale.isFinite, scale >= 0 else { throw .invalidScale(index: index, value: scale) }
            scales.append(scale)
        }
        return scales
    }

    /// Rows (token × head) of one page in one layer's K or V.
    private var rowsPerPage: Int { geometry.pageSize * geometry.kvHeads }

    /// Element bytes of one page in one layer's K or V.
    private var elementBytesPerLayerSide: Int { rowsPerPage * geometry.headDim * geometry.storage.bytesPerElement }

    private func checkLayer(_ layer: Int) throws(StorageError) {
        guard layer >= 0, layer < geometry.layers else { throw .layerOutOfRange(layer: layer, layers: geometry.layers) }
    }

    private func checkPage(_ page: Int) throws(StorageError) {
        guard page >= 0, page < pageCount else { throw .unknownPage(page: page, pageCount: pageCount) }
    }
}
