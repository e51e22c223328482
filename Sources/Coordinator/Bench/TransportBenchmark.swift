import CacheProtocol
import Foundation
import Kernels

/// `bench transport`: the memory-copy ceiling, loopback ZeroMQ round trips and bulk throughput,
/// and the KV page codec on real, random and half-filled pages, all measured in one run.
///
/// Bulk cases are a pipelined one-way PUSH → PULL stream with `window` sends in flight; the time
/// runs from the first send to the last message received.
struct TransportBenchmark {
    /// One measured line.
    enum Row: Sendable {
        case machine(memcpyGBps: Double)
        case transport(name: String, roundTripsPerSecond: Double, gbps: Double, memcpyFraction: Double)
        case codec(name: String, ratio: Double, compressGBps: Double, decompressGBps: Double, stored: String)

        /// The `--json` line.
        var json: String {
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
        var text: String {
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
    enum Failure: Error, CustomStringConvertible {
        case missingKV(String)
        case badKV(String, String)

        var description: String {
            switch self {
            case .missingKV(let path):
                "KV file \(path) not found: pass --kv FILE.npy (float16 [layers, 2, tokens, heads, head_dim])"
            case .badKV(let path, let why): "KV file \(path): \(why)"
            }
        }
    }

    /// The real KV tensor: a float16 `.npy` of shape `[layers, 2, tokens, heads, headDim]`.
    var kvPath: String
    /// Tokens per page.
    var pageSize = 16
    /// Sends in flight in the bulk cases.
    var window = 16

    /// Runs every case, handing each row to `report` as soon as it is measured.
    func run(report: (Row) -> Void) async throws {
        let kv = try loadFloat16NPY(kvPath)
        let memcpy = MachineCeilings.memcpyGBps()
        report(.machine(memcpyGBps: memcpy))
        for row in try await measureTransport(memcpyGBps: memcpy) { report(row) }
        for row in try measureCodec(kv) { report(row) }
    }

    // MARK: transport

    private func measureTransport(memcpyGBps: Double) async throws -> [TransportBenchmark.Row] {
        let context = try ZMQContext()
        var rows: [Row] = []
        rows.append(try await measureRPC(context: context, payload: 4 << 10, memcpyGBps: memcpyGBps))
        rows.append(try await measureBulk(context: context, name: "bulk-64k", payload: 64 << 10, messages: 8192, memcpyGBps: memcpyGBps))
        rows.append(try await measureBulk(context: context, name: "bulk-1m", payload: 1 << 20, messages: 1024, memcpyGBps: memcpyGBps))
        return rows
    }

    /// Sequential request/reply round trips through `ZMQRequester` and a ROUTER echo server; GB/s
    /// counts the payload both ways.
    private func measureRPC(context: ZMQContext, payload: Int, memcpyGBps: Double) async throws -> Row {
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let requestID: @Sendable ([[UInt8]]) -> UInt64? = { frames in
            guard let first = frames.first, first.count == 8 else { return nil }
            return first.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        }
        let client = try ZMQRequester(context: context, connect: server.boundEndpoints, requestID: requestID)
        let echo = Task {
            while true {
                guard let request = try? await server.receive() else { return }
                guard (try? await server.send(request)) != nil else { return }
            }
        }
        let body = [UInt8](repeating: 7, count: payload)
        let warmup = 200, count = 5000
        var seconds = 0.0
        let clock = ContinuousClock()
        for i in 0..<(warmup + count) {
            if i == warmup { seconds = 0 }
            let start = clock.now
            var id = UInt64(i)
            _ = try await client.request([withUnsafeBytes(of: &id) { Array($0) }, body], timeout: .seconds(10))
            seconds += Self.seconds(start.duration(to: clock.now))
        }
        await client.close()
        await server.close()
        echo.cancel()
        let rate = Double(count) / seconds
        let gbps = rate * Double(2 * payload) / 1e9
        return .transport(name: "rpc-4k", roundTripsPerSecond: rate, gbps: gbps, memcpyFraction: gbps / memcpyGBps)
    }

    /// A one-way PUSH → PULL stream of `messages` frames of `payload` bytes, `window` sends in flight.
    private func measureBulk(context: ZMQContext, name: String, payload: Int, messages: Int, memcpyGBps: Double) async throws -> Row {
        let pull = try ZMQEndpoint(.pull, context: context, options: ZMQSocketOptions(maxMessageSize: nil), bind: ["tcp://127.0.0.1:*"])
        let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
        let frame = [UInt8](repeating: 3, count: payload)
        try await push.send([frame], timeout: .seconds(10))
        _ = try await pull.receive(timeout: .seconds(10))
        let window = self.window
        let clock = ContinuousClock()
        let start = clock.now
        let receiving = Task {
            var bytes = 0
            for _ in 0..<messages { bytes += try await pull.receive(timeout: .seconds(30))[0].count }
            return bytes
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<messages {
                if i >= window { try await group.next() }
                group.addTask { try await push.send([frame], timeout: .seconds(30)) }
            }
            try await group.waitForAll()
        }
        let bytes = try await receiving.value
        let seconds = Self.seconds(start.duration(to: clock.now))
        await push.close()
        await pull.close()
        let gbps = Double(bytes) / seconds / 1e9
        return .transport(name: name, roundTripsPerSecond: Double(messages) / seconds, gbps: gbps, memcpyFraction: gbps / memcpyGBps)
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
            let layout = try PageLayout(layers: kv.layers, pageSize: pageSize, kvHeads: kv.heads, headDim: kv.headDim, storage: storage)
            let pageCount = kv.tokens / pageSize
            var generator = SystemRandomNumberGenerator()
            let data: [(String, [RawPage])] = [
                ("real", try (0..<pageCount).map { try RawPage(layout: layout, values: page(kv, first: $0 * pageSize, filled: pageSize)) }),
                ("random", try (0..<pageCount).map { _ in
                    try RawPage(layout: layout, bytes: (0..<layout.rawByteCount).map { _ in UInt8.random(in: 0...255, using: &generator) })
                }),
                ("halfpage", try (0..<pageCount).map { try RawPage(layout: layout, values: page(kv, first: $0 * pageSize, filled: pageSize / 2)) }),
            ]
            for (dataName, pages) in data {
                for (filterName, filter) in [("plain", PageFilter.none), ("byteshuffle", .byteShuffle), ("bitshuffle", .bitShuffle)] {
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
        var compress = Double.infinity, decompress = Double.infinity
        for _ in 0..<5 {
            compress = min(compress, Self.time { encoded = pages.map { codec.encode($0, encoding: encoding) } })
            var failure: PageCodecError?
            decompress = min(decompress, Self.time {
                for page in encoded {
                    do throws(PageCodecError) { _ = try codec.decode(page) } catch { failure = error }
                }
            })
            if let failure { throw failure }
        }
        let encodedBytes = encoded.reduce(0) { $0 + $1.count }
        let kept = Set(encoded.map { $0[7] == PageCompression.lz4.rawValue ? "lz4" : "raw" }).sorted().joined(separator: "+")
        return .codec(name: name, ratio: Double(rawBytes) / Double(encodedBytes), compressGBps: Double(rawBytes) / compress / 1e9,
                      decompressGBps: Double(rawBytes) / decompress / 1e9, stored: kept)
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
        guard data.count >= 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else { throw Failure.badKV(path, "not a .npy file") }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        guard data.count >= 10 + headerLength,
              let header = String(data: data[10..<(10 + headerLength)], encoding: .ascii) else {
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
            (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self)))) }
        }
        return KVTensorFile(layers: shape[0], tokens: shape[2], heads: shape[3], headDim: shape[4], values: values)
    }

    // MARK: timing

    private static func time(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        body()
        return seconds(start.duration(to: clock.now))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
