/// The shape of the model whose KV cache a cluster holds. Every worker, the coordinator and every
/// client agree on one spec; its `fingerprint` is part of every `PrefixKey`, so a page never meets
/// a model it was not made for.
///
/// Text form (both binaries take it on the command line, `description` prints it):
/// `name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16`
/// — keys in any order, each once, `page` optional (default 16), no spaces.
public struct ModelSpec: Sendable, Hashable, CustomStringConvertible {
    /// Longest model name, in bytes.
    public static let maxNameBytes = 64
    /// Allowed number of layers.
    public static let layerRange = 1...1024
    /// Allowed number of query heads and of KV heads.
    public static let headRange = 1...1024
    /// Allowed head dimension.
    public static let headDimRange = 1...1024
    /// Allowed tokens per page.
    public static let pageSizeRange = 1...1024
    /// Tokens per page when the text form has no `page`.
    public static let defaultPageSize = 16
    /// The keys of the text form, in the order `description` prints them.
    public static let textKeys = ["name", "layers", "q-heads", "kv-heads", "head-dim", "kv", "page"]

    /// Model name: 1 to 64 characters from `[A-Za-z0-9._-]`.
    public let name: String
    /// Transformer layers `L`.
    public let layers: Int
    /// Query heads `Hq`, a multiple of `kvHeads`.
    public let queryHeads: Int
    /// Key/value heads `Hkv`.
    public let kvHeads: Int
    /// Elements per head `D`.
    public let headDim: Int
    /// How K and V elements are stored in pages.
    public let kvStorage: KVStorageType
    /// Tokens per page.
    public let pageSize: Int

    /// A validated spec; throws if a field is out of range, the name is not allowed, or
    /// `queryHeads % kvHeads != 0`.
    public init(
        name: String,
        layers: Int,
        queryHeads: Int,
        kvHeads: Int,
        headDim: Int,
        kvStorage: KVStorageType,
        pageSize: Int = ModelSpec.defaultPageSize
    ) throws(ModelSpecError) {
        let nameBytes = Array(name.utf8)
        guard (1...Self.maxNameBytes).contains(nameBytes.count), nameBytes.allSatisfy(Self.isNameByte) else {
            throw .invalidName(name)
        }
        try Self.check("layers", layers, Self.layerRange)
        try Self.check("q-heads", queryHeads, Self.headRange)
        try Self.check("kv-heads", kvHeads, Self.headRange)
        try Self.check("head-dim", headDim, Self.headDimRange)
        try Self.check("page", pageSize, Self.pageSizeRange)
        guard queryHeads % kvHeads == 0 else { throw .headsNotDivisible(queryHeads: queryHeads, kvHeads: kvHeads) }
        self.name = name
        self.layers = layers
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.kvStorage = kvStorage
        self.pageSize = pageSize
    }

    /// Parses the text form; every key except `page` is required, each at most once.
    public init(parsing text: String) throws(ModelSpecError) {
        var values: [String: String] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = item.firstIndex(of: "=") else { throw .malformedItem(String(item)) }
            let key = String(item[..<equals])
            let value = String(item[item.index(after: equals)...])
            guard Self.textKeys.contains(key) else { throw .unknownKey(key) }
            guard values[key] == nil else { throw .duplicateKey(key) }
            values[key] = value
        }
        func required(_ key: String) throws(ModelSpecError) -> String {
            guard let value = values[key] else { throw .missingKey(key) }
            return value
        }
        func number(_ key: String) throws(ModelSpecError) -> Int {
            let value = try required(key)
            guard value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let number = Int(value)
            else { throw .invalidNumber(key: key, value: value) }
            return number
        }
        let pageSize = try values["page"] == nil ? Self.defaultPageSize : number("page")
        let storageName = try required("kv")
        guard let storage = KVStorageType(rawValue: storageName) else { throw .unknownStorage(storageName) }
        try self.init(
            name: try required("name"),
            layers: try number("layers"),
            queryHeads: try number("q-heads"),
            kvHeads: try number("kv-heads"),
            headDim: try number("head-dim"),
            kvStorage: storage,
            pageSize: pageSize
        )
    }

    /// The text form, every key present, in `textKeys` order.
    public var description: String {
        "name=\(name),layers=\(layers),q-heads=\(queryHeads),kv-heads=\(kvHeads),head-dim=\(headDim),"
            + "kv=\(kvStorage.rawValue),page=\(pageSize)"
    }

    /// SHA-256 over the 16-byte tag `mfa.modelspec.v1` followed by `encode(into:)`'s bytes.
    public var fingerprint: ModelFingerprint {
        var writer = WireWriter(capacity: 48 + name.utf8.count)
        writer.writeRaw(ModelFingerprint.domainTag)
        encode(into: &writer)
        return ModelFingerprint(digest: Digest32(sha256: writer.bytes))
    }

    /// The canonical binary encoding, used on the wire and hashed by `fingerprint`:
    /// name byte length (u32 LE), UTF-8 name, layers, query heads, KV heads, head dim (u32 LE each),
    /// KV storage code (u8: f32 0, f16 1, bf16 2, int8 3), page size (u32 LE).
    public func encode(into writer: inout WireWriter) {
        writer.write(name)
        writer.writeCount(layers)
        writer.writeCount(queryHeads)
        writer.writeCount(kvHeads)
        writer.writeCount(headDim)
        writer.write(KVStorageCode.code(of: kvStorage))
        writer.writeCount(pageSize)
    }

    /// Reads the canonical binary encoding and validates it like `init(name:…)`.
    public init(reading reader: inout WireReader) throws(WireError) {
        let name = try reader.readString("model name", maxBytes: Self.maxNameBytes)
        let layers = try reader.readUInt32("layers")
        let queryHeads = try reader.readUInt32("query heads")
        let kvHeads = try reader.readUInt32("KV heads")
        let headDim = try reader.readUInt32("head dim")
        let code = try reader.readUInt8("KV storage")
        let pageSize = try reader.readUInt32("page size")
        guard let storage = KVStorageCode.storage(of: code) else {
            throw .invalidModelSpec(.unknownStorageCode(code))
        }
        do {
            try self.init(
                name: name,
                layers: Int(layers),
                queryHeads: Int(queryHeads),
                kvHeads: Int(kvHeads),
                headDim: Int(headDim),
                kvStorage: storage,
                pageSize: Int(pageSize)
            )
        } catch {
            throw .invalidModelSpec(error)
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private static func check(_ field: String, _ value: Int, _ range: ClosedRange<Int>) throws(ModelSpecError) {
        guard range.contains(value) else { throw .outOfRange(field: field, value: value, range: range) }
    }
}
