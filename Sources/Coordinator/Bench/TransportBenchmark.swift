import CZeroMQ
import CacheProtocol
import Foundation
import Kernels

/// `bench transport`: the memory-copy ceiling, loopback ZeroMQ round trips and bulk throughput,
/// and the KV page codec on real, random and half-filled pages, all measured in one run.
///
/// Bulk cases are a pipelined one-way PUSH → PULL stream with `window` sends in flight; the time
/// runs from the first send to the last message received. Each transport case reports the best of
/// `rounds` timed rounds, as the memcpy ceiling reports the best of five copies.
public struct TransportBenchmark {
    /// One measured line.
    public enum Row: Sendable {
        case machine(memcpyGBps: Double)
        case transport(name: String, roundTripsPerSecond: Double, gbps: Double, memcpyFraction: Double)
        case codec(name: String, ratio: Double, compressGBps: Double, decompressGBps: Double, stored: String)

        /// The `--json` line.
        public var json: String {
            switch self {
            case .machine(let memcpy):
                "{\"case\":\"machine\",\"memcpy_gbps\":\(Self.number(memcpy))}"
            case .transport(let name, let rate, let gbps, let fraction):
                "{\"case\":\"\(name)\",\"round_trips_per_s\":\(Self.number(rate)),\"gbps\":\(Self.number(gbps)),\"memcpy_fraction\":\(Self.number(fraction))}"
            case .codec(let name, let ratio, let compress, let decompress, let stored):
                "{\"case\":\"\(name)\",\"ratio\":\(Self.number(ratio)),\"compress_gbps\":\(Self.number(compress)),\"decompress_gbps\":\(Self.number(decompress)),\"stored\":\"\(stored)\"}"
            }
        }

        /// The human table line.
        public var text: String {
            switch self {
            case .machine(let memcpy):
                "machine           memcpy 256 MiB          \(Self.number(memcpy)) GB/s"
            case .transport(let name, let rate, let gbps, let fraction):
                "\(name.padding(toLength: 18, withPad: " ", startingAt: 0))\(Self.number(rate)) msg/s  \(Self.number(gbps)) GB/s  \(Self.number(fraction * 100))% of memcpy"
            case .codec(let name, let ratio, let compress, let decompress, let stored):
                "\(name.padding(toLength: 34, withPad: " ", startingAt: 0))ratio \(Self.number(ratio))  compress \(Self.number(compress)) GB/s  decompress \(Self.number(decompress)) GB/s  (\(stored))"
            }
        }

        private static func number(_ value: Double) -> String { String(format: "%.3f", value) }
    }

    /// Why the benchmark could not run.
    public enum Failure: Error, CustomStringConvertible {
        case missingKV(String)
        case badKV(String, String)
        case libzmq(String)

        public var description: String {
            switch self {
            case .missingKV(let path):
                "KV file \(path) not found: pass --kv FILE.npy (float16 [layers, 2, tokens, heads, head_dim])"
            case .badKV(let path, let why): "KV file \(path): \(why)"
            case .libzmq(let call): "libzmq: \(call) failed: \(String(cString: zmq_strerror(zmq_errno())))"
            }
        }
    }

    /// The real KV tensor: a float16 `.npy` of shape `[layers, 2, tokens, heads, headDim]`.
    var kvPath: String
    /// Tokens per page.
    var pageSize = 16
    /// Sends in flight in the bulk cases.
    var window = 16
    /// Timed rounds of each transport case; the best counts, as for the memcpy ceiling.
    var rounds = 3

    /// Runs every case, handing each row to `report` as soon as it is measured.
    public func run(report: (Row) -> Void) async throws {
        let kv = try loadFloat16NPY(kvPath)
        let memcpy = MachineCeilings.measureCopyBandwidth()
        report(.machine(memcpyGBps: memcpy))
        for row in try await measureTransport(memcpyGBps: memcpy) { report(row) }
        for row in try measureCodec(kv) { report(row) }
    }

    // MARK: transport

    private func measureTransport(memcpyGBps: Double) async throws -> [TransportBenchmark.Row] {
        // Each side has a context of its own, so its own libzmq I/O thread, as two processes would:
        // with one shared context, one I/O thread makes both kernel copies of every message.
        let contexts = Sides(server: try ZMQContext(), client: try ZMQContext())
        var rows: [Row] = []
        rows.append(try await measureRPC(contexts, payload: 4 << 10, memcpyGBps: memcpyGBps))
        rows.append(
            try await measureBulk(contexts, name: "bulk-64k", payload: 64 << 10, messages: 8192, memcpyGBps: memcpyGBps)
        )
        rows.append(
            try await measureBulk(contexts, name: "bulk-1m", payload: 1 << 20, messages: 1024, memcpyGBps: memcpyGBps)
        )
        rows.append(try measureLibZMQ(name: "libzmq-1m", payload: 1 << 20, messages: 1024, memcpyGBps: memcpyGBps))
        return rows
    }

    /// The contexts of the binding (server) and connecting (client) side of each transport case.
    struct Sides {
        var server: ZMQContext
        var client: ZMQContext
    }

    /// Sequential request/reply round trips through `ZMQRequester` and a ROUTER echo server, best
    /// of `rounds`; GB/s counts the payload both ways.
    private func measureRPC(_ contexts: Sides, payload: Int, memcpyGBps: Double) async throws -> Row {
        let server = try ZMQEndpoint(.router, context: contexts.server, bind: ["tcp://127.0.0.1:*"])
        let requestID: @Sendable (any FrameBytes) -> UInt64? = { frame0 in
            frame0.withUnsafeBytes { $0.count == 8 ? $0.loadUnaligned(as: UInt64.self) : nil }
        }
        let client = try ZMQRequester(context: contexts.client, connect: server.boundEndpoints, requestID: requestID)
        let echo = Task {
            while true {
                guard let request = try? await server.receive() else { return }
                guard (try? await server.send(request.map { Array($0) })) != nil else { return }
            }
        }
        let body = [UInt8](repeating: 7, count: payload)
        let warmup = 200
        let count = 2000
        var next: UInt64 = 0
        func roundTrips(_ n: Int) async throws -> Double {
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<n {
                var id = next
                next += 1
                _ = try await client.request([withUnsafeBytes(of: &id) { Array($0) }, body], timeout: .seconds(10))
            }
            return start.duration(to: clock.now).inSeconds
        }
        _ = try await roundTrips(warmup)
        var best = Double.infinity
        for _ in 0..<rounds { best = min(best, try await roundTrips(count)) }
        await client.close()
        await server.close()
        echo.cancel()
        let rate = Double(count) / best
        let gbps = rate * Double(2 * payload) / 1e9
        return .transport(name: "rpc-4k", roundTripsPerSecond: rate, gbps: gbps, memcpyFraction: gbps / memcpyGBps)
    }

    /// A one-way PUSH → PULL stream of `messages` frames of `payload` bytes, `window` sends in
    /// flight, best of `rounds`.
    private func measureBulk(
        _ contexts: Sides,
        name: String,
        payload: Int,
        messages: Int,
        memcpyGBps: Double
    ) async throws -> Row {
        let pull = try ZMQEndpoint(
            .pull,
            context: contexts.server,
            options: ZMQSocketOptions(maxMessageSize: nil),
            bind: ["tcp://127.0.0.1:*"]
        )
        let push = try ZMQEndpoint(.push, context: contexts.client, connect: pull.boundEndpoints)
        let frame = [UInt8](repeating: 3, count: payload)
        try await push.send([frame], timeout: .seconds(10))
        _ = try await pull.receive(timeout: .seconds(10))
        let window = self.window
        var best = Double.infinity
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            let start = clock.now
            let receiving = Task {
                for _ in 0..<messages { _ = try await pull.receive(timeout: .seconds(30)) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<messages {
                    if i >= window { try await group.next() }
                    group.addTask { try await push.send([frame], timeout: .seconds(30)) }
                }
                try await group.waitForAll()
            }
            try await receiving.value
            best = min(best, start.duration(to: clock.now).inSeconds)
        }
        await push.close()
        await pull.close()
        let gbps = Double(messages * payload) / best / 1e9
        return .transport(
            name: name,
            roundTripsPerSecond: Double(messages) / best,
            gbps: gbps,
            memcpyFraction: gbps / memcpyGBps
        )
    }

    /// libzmq alone, the ceiling of the bulk cases: the same PUSH → PULL stream through the C API,
    /// a context per side, a sender thread sending one buffer without a copy, and blocking receives
    /// that only close each message (no copy out, no thread hand-offs), best of `rounds`.
    private func measureLibZMQ(name: String, payload: Int, messages: Int, memcpyGBps: Double) throws -> Row {
        guard let context = zmq_ctx_new() else { throw Failure.libzmq("zmq_ctx_new") }
        defer { zmq_ctx_term(context) }
        guard let pull = zmq_socket(context, ZMQ_PULL) else { throw Failure.libzmq("zmq_socket") }
        defer { zmq_close(pull) }
        var address = [CChar](repeating: 0, count: 256)
        var length = address.count
        guard zmq_bind(pull, "tcp://127.0.0.1:*") == 0, zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, &address, &length) == 0
        else {
            throw Failure.libzmq("zmq_bind")
        }
        let endpoint = String(decoding: address.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let total = 1 + rounds * messages
        let sent = DispatchSemaphore(value: 0)
        Thread {
            defer { sent.signal() }
            guard let context = zmq_ctx_new() else { return }
            defer { zmq_ctx_term(context) }
            guard let push = zmq_socket(context, ZMQ_PUSH), zmq_connect(push, endpoint) == 0 else { return }
            defer { zmq_close(push) }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: payload, alignment: 64)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 3, count: payload)
            for _ in 0..<total {
                var message = zmq_msg_t()
                guard zmq_msg_init_data(&message, buffer, payload, nil, nil) == 0 else { return }
                if zmq_msg_send(&message, push, 0) < 0 {
                    zmq_msg_close(&message)
                    return
                }
            }
        }.start()
        defer { sent.wait() }
        var timeout: Int32 = 30_000
        guard zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, MemoryLayout<Int32>.size) == 0 else {
            throw Failure.libzmq("zmq_setsockopt")
        }
        func receive(_ count: Int) throws {
            for _ in 0..<count {
                var message = zmq_msg_t()
                zmq_msg_init(&message)
                defer { zmq_msg_close(&message) }
                guard zmq_msg_recv(&message, pull, 0) == payload else { throw Failure.libzmq("zmq_msg_recv") }
            }
        }
        try receive(1)
        var best = Double.infinity
        for _ in 0..<rounds {
            best = min(best, try Self.time { try receive(messages) })
        }
        let gbps = Double(messages * payload) / best / 1e9
        return .transport(
            name: name,
            roundTripsPerSecond: Double(messages) / best,
            gbps: gbps,
            memcpyFraction: gbps / memcpyGBps
        )
    }

    // MARK: codec

    /// The real tensor as loaded: its shape and values.
    struct KVTensorFile {
        var layers: Int, tokens: Int, heads: Int, headDim: Int
        var values: [Float]
    }

    private func measureCodec(_ kv: KVTensorFile) throws -> [Row] {
        let codec = PageCodec()
        var rows: [Row] = []
        for storage in [KVStorageType.f16, .bf16, .int8] {
            let layout = try PageLayout(
                layers: kv.layers,
                pageSize: pageSize,
                kvHeads: kv.heads,
                headDim: kv.headDim,
                storage: storage
            )
            let pageCount = kv.tokens / pageSize
            var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
            let data: [(String, [RawPage])] = [
                (
                    "real",
                    try (0..<pageCount).map {
                        try RawPage(layout: layout, values: page(kv, first: $0 * pageSize, filled: pageSize))
                    }
                ),
                (
                    "random",
                    try (0..<pageCount).map { _ in try RawPage(layout: layout, bytes: random.bytes(layout.rawByteCount))
                    }
                ),
                (
                    "halfpage",
                    try (0..<pageCount).map {
                        try RawPage(layout: layout, values: page(kv, first: $0 * pageSize, filled: pageSize / 2))
                    }
                ),
            ]
            for (dataName, pages) in data {
                for (filterName, filter) in [
                    ("plain", PageFilter.none), ("byteshuffle", .byteShuffle), ("bitshuffle", .bitShuffle),
                ] {
                    let encoding = PageEncoding(filter: filter, compression: .lz4)
                    rows.append(try measure(codec, pages, encoding, name: "codec-\(storage)-\(dataName)-\(filterName)"))
                }
            }
        }
        return rows
    }

    /// Best of several rounds over `pages`, one core.
    private func measure(_ codec: PageCodec, _ pages: [RawPage], _ encoding: PageEncoding, name: String) throws -> Row {
        let rawBytes = pages.reduce(0) { $0 + $1.bytes.count }
        var encoded: [[UInt8]] = []
        var compress = Double.infinity
        var decompress = Double.infinity
        for _ in 0..<5 {
            compress = min(compress, Self.time { encoded = pages.map { codec.encode($0, encoding: encoding) } })
            var failure: PageCodecError?
            decompress = min(
                decompress,
                Self.time {
                    for page in encoded {
                        do throws(PageCodecError) { _ = try codec.decode(page) } catch { failure = error }
                    }
                }
            )
            if let failure { throw failure }
        }
        let encodedBytes = encoded.reduce(0) { $0 + $1.count }
        let kept = Set(encoded.map { $0[7] == PageCompression.lz4.rawValue ? "lz4" : "raw" }).sorted().joined(
            separator: "+"
        )
        return .codec(
            name: name,
            ratio: Double(rawBytes) / Double(encodedBytes),
            compressGBps: Double(rawBytes) / compress / 1e9,
            decompressGBps: Double(rawBytes) / decompress / 1e9,
            stored: kept
        )
    }

    /// Tokens `first..<first + filled` of every layer and K/V, the rest of the page zero.
    private func page(_ kv: KVTensorFile, first: Int, filled: Int) -> [Float] {
        let row = kv.heads * kv.headDim
        var out = [Float](repeating: 0, count: kv.layers * 2 * pageSize * row)
        for lk in 0..<(kv.layers * 2) {
            let source = (lk * kv.tokens + first) * row
            let target = lk * pageSize * row
            out.replaceSubrange(target..<target + filled * row, with: kv.values[source..<source + filled * row])
        }
        return out
    }

    // MARK: .npy

    /// A minimal float16 `.npy` reader for the benchmark's KV file (version 1.x header, C order,
    /// `<f2`, five dimensions with 2 in the second).
    private func loadFloat16NPY(_ path: String) throws -> KVTensorFile {
        guard FileManager.default.fileExists(atPath: path) else { throw Failure.missingKV(path) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else {
            throw Failure.badKV(path, "not a .npy file")
        }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        guard data.count >= 10 + headerLength,
            let header = String(data: data[10..<(10 + headerLength)], encoding: .ascii)
        else {
            throw Failure.badKV(path, "truncated header")
        }
        guard header.contains("'<f2'"), header.contains("'fortran_order': False") else {
            throw Failure.badKV(path, "expected little-endian float16 in C order")
        }
        guard let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else {
            throw Failure.badKV(path, "no shape")
        }
        let shape = header[header.index(after: open)..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard shape.count == 5, shape[1] == 2, shape.allSatisfy({ $0 > 0 }) else {
            throw Failure.badKV(path, "expected shape [layers, 2, tokens, heads, head_dim], got \(shape)")
        }
        let count = shape.reduce(1, *)
        let start = 10 + headerLength
        guard data.count == start + 2 * count else { throw Failure.badKV(path, "payload is not \(2 * count) bytes") }
        let values = data.withUnsafeBytes { raw in
            (0..<count).map {
                Float(
                    Float16(
                        bitPattern: UInt16(
                            littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self)
                        )
                    )
                )
            }
        }
        return KVTensorFile(layers: shape[0], tokens: shape[2], heads: shape[3], headDim: shape[4], values: values)
    }

    // MARK: timing

    private static func time(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        return start.duration(to: clock.now).inSeconds
    }

}

extension TransportBenchmark {
    /// A benchmark that reads real KV pages from the float16 `.npy` file at `kvPath`.
    public init(kvPath: String) {
        self.kvPath = kvPath
    }
}
