import Kernels

/// One dense attention computed from `.npy` files: q `[B, Hq, Nq, D]`, k and v `[B, Hkv, Nk, D]`;
/// writes the output `[B, Hq, Nq, D]` and optionally the log-sum-exp `[B, Hq, Nq]`, both float32.
public struct AttentionJob: Sendable {
    /// Paths of the query, key and value inputs.
    var queryPath: String
    var keyPath: String
    var valuePath: String
    /// Path of the output array.
    var outputPath: String
    /// Path of the log-sum-exp array, if wanted.
    var logSumExpPath: String?
    /// Kernel options (causal, window, softcap, scale, threads).
    var options: AttentionOptions
    /// How K and V are stored for the kernel; nil means f16 when the key file is float16, else f32.
    var storage: KVStorageType?

    /// A job reading q, k and v from `.npy` files and writing the output (and optionally the
    /// log-sum-exp) to `.npy` files.
    public init(
        queryPath: String,
        keyPath: String,
        valuePath: String,
        outputPath: String,
        logSumExpPath: String?,
        options: AttentionOptions,
        storage: KVStorageType?
    ) {
        self.queryPath = queryPath
        self.keyPath = keyPath
        self.valuePath = valuePath
        self.outputPath = outputPath
        self.logSumExpPath = logSumExpPath
        self.options = options
        self.storage = storage
    }

    /// Parses a window given as `L,R` (each side >= 0 or -1 for unbounded; the kernel checks ranges).
    public static func parseWindow(_ text: String) throws(AttentionJobError) -> AttentionWindow {
        let sides = text.split(separator: ",", omittingEmptySubsequences: false)
        guard sides.count == 2,
            let left = Int(sides[0].trimmingPrefix(" ")), let right = Int(sides[1].trimmingPrefix(" "))
        else { throw .option("--window expects L,R (two integers), got '\(text)'") }
        return AttentionWindow(left: left, right: right)
    }

    /// Parses a KV storage name: f32, f16, bf16 or int8.
    public static func parseStorage(_ text: String) throws(AttentionJobError) -> KVStorageType {
        guard let storage = KVStorageType(rawValue: text) else {
            let names = KVStorageType.allCases.map(\.rawValue).joined(separator: ", ")
            throw .option("--kv-dtype must be one of \(names), got '\(text)'")
        }
        return storage
    }

    /// Reads the inputs, runs the kernel and writes the outputs.
    public func run() throws(AttentionJobError) {
        let q = try Self.read(queryPath)
        let k = try Self.read(keyPath)
        let v = try Self.read(valuePath)
        let (output, logSumExp) = try Self.compute(q: q, k: k, v: v, storage: storage, options: options)
        try Self.write(output, to: outputPath)
        if let logSumExpPath { try Self.write(logSumExp, to: logSumExpPath) }
    }

    /// Dense attention over in-memory arrays; returns the output and log-sum-exp arrays.
    public static func compute(
        q: NPYArray,
        k: NPYArray,
        v: NPYArray,
        storage: KVStorageType?,
        options: AttentionOptions
    ) throws(AttentionJobError) -> (output: NPYArray, logSumExp: NPYArray) {
        guard q.shape.count == 4 else { throw .shape("q must be [B, Hq, Nq, D], got \(q.shape)") }
        guard k.shape.count == 4 else { throw .shape("k must be [B, Hkv, Nk, D], got \(k.shape)") }
        guard v.shape == k.shape else { throw .shape("v has shape \(v.shape), k has \(k.shape)") }
        guard q.shape[0] == k.shape[0] else { throw .shape("q has batch \(q.shape[0]), k has \(k.shape[0])") }
        guard q.shape[3] == k.shape[3] else { throw .shape("q has head dim \(q.shape[3]), k has \(k.shape[3])") }
        let storage = storage ?? (k.elementType == .float16 ? .f16 : .f32)
        let shape = DenseAttentionShape(
            batch: q.shape[0],
            queryHeads: q.shape[1],
            kvHeads: k.shape[1],
            queryLength: q.shape[2],
            keyLength: k.shape[2],
            headDim: q.shape[3]
        )
        let result: AttentionResult
        do throws(KernelError) {
            let keys = try KVTensor(k.values, rowLength: shape.headDim, storage: storage)
            let values = try KVTensor(v.values, rowLength: shape.headDim, storage: storage)
            result = try FlashAttention.dense(q: q.values, k: keys, v: values, shape: shape, options: options)
        } catch {
            throw .kernel(error)
        }
        do throws(NPYError) {
            return try (
                NPYArray(shape: q.shape, values: result.output),
                NPYArray(shape: Array(q.shape.prefix(3)), values: result.logSumExp)
            )
        } catch {
            throw .shape("kernel result does not match q: \(error)")
        }
    }

    private static func read(_ path: String) throws(AttentionJobError) -> NPYArray {
        do { return try NPYArray(contentsOf: path) } catch { throw .file(path: path, error) }
    }

    private static func write(_ array: NPYArray, to path: String) throws(AttentionJobError) {
        do { try array.write(to: path) } catch { throw .file(path: path, error) }
    }
}
