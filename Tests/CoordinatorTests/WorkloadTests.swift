import TestSupport
import Testing

@testable import Coordinator

@Suite("Workloads")
struct WorkloadTests {
    @Test("a trace line is read with its fields; blank lines are skipped")
    func readsRecords() throws {
        let text = """
            {"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [7, 8]}

            {"timestamp": 12.5, "input_length": 512, "output_length": 1, "hash_ids": [7], "extra": true}
            """
        let records = try TraceReader.parse(text)
        #expect(
            records == [
                TraceRecord(timestampMilliseconds: 0, inputLength: 600, outputLength: 10, hashIDs: [7, 8]),
                TraceRecord(timestampMilliseconds: 12.5, inputLength: 512, outputLength: 1, hashIDs: [7]),
            ]
        )
    }

    @Test("malformed and inconsistent lines are refused with their line number")
    func refusesBadLines() {
        let cases: [(String, TraceError)] = [
            (
                "{\"timestamp\": 0, \"input_length\": 10}",
                .malformedLine(line: 1, reason: "missing field output_length")
            ),
            (
                "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [1]}",
                .invalidRecord(line: 1, reason: "600 prompt tokens are 2 blocks of 512, but there are 1 hash ids")
            ),
            (
                "{\"timestamp\": 0, \"input_length\": 0, \"output_length\": 1, \"hash_ids\": []}",
                .invalidRecord(line: 1, reason: "lengths must be positive (input 0, output 1)")
            ),
            ("\n\n", .empty),
        ]
        for (text, expected) in cases {
            #expect(throws: expected) { try TraceReader.parse(text) }
        }
        #expect(throws: TraceError.self) { try TraceReader.parse("not json") }
        #expect(throws: TraceError.self) {
            try TraceReader.parse(
                """
                {"timestamp": 5, "input_length": 1, "output_length": 1, "hash_ids": [1]}
                {"timestamp": 4, "input_length": 1, "output_length": 1, "hash_ids": [1]}
                """
            )
        }
    }

    @Test("scaling gives equal ids equal tokens, cuts the last block in proportion and scales outputs and time")
    func scaling() {
        let scaling = TraceScaling(blockTokens: 16, speedup: 10)
        let first = scaling.scale(
            TraceRecord(timestampMilliseconds: 1000, inputLength: 512 + 256, outputLength: 64, hashIDs: [3, 4])
        )
        let second = scaling.scale(
            TraceRecord(timestampMilliseconds: 2000, inputLength: 1024, outputLength: 1, hashIDs: [3, 9])
        )
        #expect(first.tokens.count == 16 + 8)
        #expect(second.tokens.count == 32)
        #expect(first.tokens.prefix(16) == second.tokens.prefix(16))
        #expect(first.tokens[16...] != second.tokens[16..<24])
        #expect(first.outputTokens == 2)
        #expect(second.outputTokens == 1)
        #expect(first.arrival == .milliseconds(100))
        let unpaced = TraceScaling(blockTokens: 16, speedup: 0)
        #expect(
            unpaced.scale(TraceRecord(timestampMilliseconds: 2000, inputLength: 1, outputLength: 1, hashIDs: [3]))
                .arrival
                == .zero
        )
    }

    @Test("the ideal hit rate counts leading pages seen before, by their whole prefix")
    func idealHitRate() {
        var ideal = IdealHitRate(pageSize: 2)
        ideal.add([1, 2, 3, 4, 5])  // nothing seen: 0 of 5
        ideal.add([1, 2, 3, 4, 9, 9])  // two pages hit: 4 of 6
        ideal.add([7, 7, 3, 4])  // page [3, 4] after another prefix: no hit
        #expect(ideal.promptTokens == 15)
        #expect(ideal.hitTokens == 4)
        ideal.add([1, 2, 3, 4], namespace: "other")  // another tenant: no hit
        #expect(ideal.hitTokens == 4)
    }

    @Test("the shipped excerpt shares prefixes as the whole trace does")
    func shippedExcerpt() throws {
        let records = try TraceReader.read(path: Fixtures.repositoryPath("data/mooncake-excerpt.jsonl"))
        #expect(records.count == 215)
        let scaling = TraceScaling(blockTokens: 16, speedup: 0)
        var ideal = IdealHitRate(pageSize: 16)
        for record in records { ideal.add(scaling.scale(record).tokens) }
        // 67.4% of the excerpt's blocks repeat a prefix; partial last blocks never hit.
        #expect(ideal.rate > 0.6 && ideal.rate < 0.7)
    }

    @Test("the chat workload's later turns extend earlier prompts, and tenants never share a prompt")
    func chatWorkload() {
        let workload = ChatWorkload()
        let requests = workload.requests()
        #expect(requests.count == workload.conversations * workload.turns)
        let second = requests[workload.conversations]
        #expect(second.tokens.starts(with: requests[0].tokens))
        #expect(second.namespace == requests[0].namespace)
        let tenants = Set(requests.map(\.namespace))
        #expect(tenants == Set(workload.tenants))
        var ideal = IdealHitRate(pageSize: 16)
        for request in requests { ideal.add(request.tokens, namespace: request.namespace) }
        #expect(ideal.rate > 0.3)
        #expect(workload.requests() == requests)
    }
}
