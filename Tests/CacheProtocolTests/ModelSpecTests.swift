import Kernels
import Testing

@testable import CacheProtocol

@Suite("ModelSpec")
struct ModelSpecTests {
    static let llamaText = "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16"

    @Test func parsesAndPrintsTheSameTextForm() throws {
        let spec = try ModelSpec(parsing: Self.llamaText)
        #expect(spec.name == "llama3-8b")
        #expect(spec.layers == 32)
        #expect(spec.queryHeads == 32)
        #expect(spec.kvHeads == 8)
        #expect(spec.headDim == 128)
        #expect(spec.kvStorage == .f16)
        #expect(spec.pageSize == 16)
        #expect(spec.description == Self.llamaText)
        #expect(try ModelSpec(parsing: spec.description) == spec)
    }

    @Test func acceptsKeysInAnyOrderAndDefaultsThePageSize() throws {
        let spec = try ModelSpec(parsing: "kv=bf16,head-dim=64,kv-heads=2,q-heads=6,layers=4,name=tiny_1.0")
        #expect(
            spec
                == (try ModelSpec(name: "tiny_1.0", layers: 4, queryHeads: 6, kvHeads: 2, headDim: 64, kvStorage: .bf16))
        )
        #expect(spec.pageSize == ModelSpec.defaultPageSize)
    }

    @Test(arguments: [
        ("name=a,layers=1,q-heads=1,kv-heads=1,head-dim=8,kv=f32,colour=red", ModelSpecError.unknownKey("colour")),
        ("name=a,layers=1,q-heads=1,kv-heads=1,head-dim=8", .missingKey("kv")),
        ("name=a,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .missingKey("layers")),
        ("name=a,layers=1,layers=2,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .duplicateKey("layers")),
        ("name=a,layers=x,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .invalidNumber(key: "layers", value: "x")),
        ("name=a,layers=-3,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .invalidNumber(key: "layers", value: "-3")),
        (
            "name=a,layers=99999999999999999999999,q-heads=1,kv-heads=1,head-dim=8,kv=f32",
            .invalidNumber(key: "layers", value: "99999999999999999999999")
        ),
        ("name=a,layers=1,q-heads=1,kv-heads=1,head-dim=8,kv=f8", .unknownStorage("f8")),
        ("name=a,layers,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .malformedItem("layers")),
        ("name=a b,layers=1,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .invalidName("a b")),
        ("name=,layers=1,q-heads=1,kv-heads=1,head-dim=8,kv=f32", .invalidName("")),
        (
            "name=a,layers=0,q-heads=1,kv-heads=1,head-dim=8,kv=f32",
            .outOfRange(field: "layers", value: 0, range: ModelSpec.layerRange)
        ),
        (
            "name=a,layers=1,q-heads=1,kv-heads=1,head-dim=4096,kv=f32",
            .outOfRange(field: "head-dim", value: 4096, range: ModelSpec.headDimRange)
        ),
        (
            "name=a,layers=1,q-heads=1,kv-heads=1,head-dim=8,kv=f32,page=0",
            .outOfRange(field: "page", value: 0, range: ModelSpec.pageSizeRange)
        ),
        ("name=a,layers=1,q-heads=6,kv-heads=4,head-dim=8,kv=f32", .headsNotDivisible(queryHeads: 6, kvHeads: 4)),
    ])
    func refusesBadText(text: String, expected: ModelSpecError) {
        #expect(throws: expected) { try ModelSpec(parsing: text) }
    }

    @Test func errorDescriptionsNameTheProblem() {
        #expect(ModelSpecError.unknownKey("colour").description.contains("colour"))
        #expect(ModelSpecError.headsNotDivisible(queryHeads: 6, kvHeads: 4).description.contains("multiple"))
        #expect(ModelSpecError.invalidName(String(repeating: "x", count: 65)).description.contains("64"))
    }

    @Test func refusesTooLongNames() {
        let name = String(repeating: "n", count: ModelSpec.maxNameBytes + 1)
        #expect(throws: ModelSpecError.invalidName(name)) {
            try ModelSpec(name: name, layers: 1, queryHeads: 1, kvHeads: 1, headDim: 8, kvStorage: .f32)
        }
    }

    @Test func binaryEncodingRoundTripsForEveryStorage() throws {
        for storage in KVStorageType.allCases {
            let spec = try ModelSpec(
                name: "m-\(storage)",
                layers: 3,
                queryHeads: 12,
                kvHeads: 4,
                headDim: 96,
                kvStorage: storage,
                pageSize: 32
            )
            var writer = WireWriter()
            spec.encode(into: &writer)
            var reader = WireReader(writer.bytes)
            #expect(try ModelSpec(reading: &reader) == spec)
            try reader.finish()
        }
    }

    @Test func binaryDecodingRefusesInvalidSpecs() throws {
        let spec = try ModelSpec(name: "m", layers: 3, queryHeads: 12, kvHeads: 4, headDim: 96, kvStorage: .f16)
        var writer = WireWriter()
        spec.encode(into: &writer)
        var badStorage = writer.bytes
        badStorage[4 + 1 + 16] = 9  // the storage code after the name and four u32s
        var reader = WireReader(badStorage)
        #expect(throws: WireError.invalidModelSpec(.unknownStorageCode(9))) { try ModelSpec(reading: &reader) }
        var zeroLayers = writer.bytes
        zeroLayers[5] = 0  // layers (u32 LE) right after the 1-byte name
        reader = WireReader(zeroLayers)
        #expect(throws: WireError.invalidModelSpec(.outOfRange(field: "layers", value: 0, range: ModelSpec.layerRange)))
        {
            try ModelSpec(reading: &reader)
        }
    }

    @Test func fingerprintDependsOnEveryField() throws {
        let base = try ModelSpec(parsing: Self.llamaText)
        let variants = [
            "name=llama3-8c,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16",
            "name=llama3-8b,layers=31,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16",
            "name=llama3-8b,layers=32,q-heads=16,kv-heads=8,head-dim=128,kv=f16,page=16",
            "name=llama3-8b,layers=32,q-heads=32,kv-heads=4,head-dim=128,kv=f16,page=16",
            "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=64,kv=f16,page=16",
            "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=bf16,page=16",
            "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=32",
        ]
        var seen: Set<ModelFingerprint> = [base.fingerprint]
        for text in variants { seen.insert(try ModelSpec(parsing: text).fingerprint) }
        #expect(seen.count == variants.count + 1)
        #expect(try ModelSpec(parsing: Self.llamaText).fingerprint == base.fingerprint)
    }
}
