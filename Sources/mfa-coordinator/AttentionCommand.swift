import ArgumentParser
import Coordinator
import Kernels

/// `mfa-coordinator attention`: dense attention on `.npy` files. Bad input prints one line on
/// standard error and exits with status 2.
struct AttentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Compute dense attention of q [B,Hq,Nq,D] over k, v [B,Hkv,Nk,D] stored as .npy files."
    )

    @Option(name: .customLong("q"), help: "Queries, float32 or float16 .npy [B, Hq, Nq, D].")
    var queryPath: String
    @Option(name: .customLong("k"), help: "Keys, float32 or float16 .npy [B, Hkv, Nk, D].")
    var keyPath: String
    @Option(name: .customLong("v"), help: "Values, same shape as the keys.")
    var valuePath: String
    @Option(name: .customLong("out"), help: "Output file, float32 .npy [B, Hq, Nq, D].")
    var outputPath: String
    @Option(name: .customLong("lse"), help: "Log-sum-exp file, float32 .npy [B, Hq, Nq].")
    var logSumExpPath: String?
    @Flag(help: "Query i sees key j only if j <= i + Nk - Nq.")
    var causal = false
    @Option(
        parsing: .unconditional,
        help: "Sliding window L,R around each query's aligned position (-1 for unbounded)."
    )
    var window: String?
    @Option(help: "Softcap c > 0: scores become c * tanh(s / c).")
    var softcap: Float?
    @Option(help: "Softmax scale (default 1/sqrt(D)).")
    var scale: Float?
    @Option(
        name: .customLong("kv-dtype"),
        help: "K/V storage: f32, f16, bf16 or int8 (default f16 for float16 keys, else f32)."
    )
    var kvDtype: String?
    @Option(help: "Worker threads (default: every core).")
    var threads: Int?

    func run() async throws {
        do throws(AttentionJobError) {
            var options = AttentionOptions(scale: scale, causal: causal, softcap: softcap, threads: threads)
            if let window { options.window = try AttentionJob.parseWindow(window) }
            let job = AttentionJob(
                queryPath: queryPath,
                keyPath: keyPath,
                valuePath: valuePath,
                outputPath: outputPath,
                logSumExpPath: logSumExpPath,
                options: options,
                storage: try kvDtype.map(AttentionJob.parseStorage)
            )
            try job.run()
        } catch {
            StandardError.report(error.description)
            throw ExitCode(2)
        }
    }
}
