import Foundation
import Kernels

/// The CPU a benchmark ran on, as `/proc/cpuinfo` names it, so that every figure is printed with
/// its machine: the model name, the family and model numbers (which tell AMD Zen generations
/// apart where the name does not), the cores this process may use, and the instruction sets the CPU
/// and the operating system offer (`CPUFeatures`).
public struct HostCPU: Sendable, Hashable, CustomStringConvertible {
    /// `model name`, or `unknown CPU`.
    public var modelName: String
    /// `cpu family` and `model`, when present.
    public var family: String?
    /// `model`, when present.
    public var model: String?
    /// Cores this process may use.
    public var cores: Int
    /// The vector and matrix instruction sets present (`CPUFeatures.names`: `avx2`, …,
    /// `avx512_bf16`, `amx_bf16`).
    public var instructionSets: [String]

    /// A description of a CPU.
    public init(modelName: String, family: String?, model: String?, cores: Int, instructionSets: [String] = []) {
        self.modelName = modelName
        self.family = family
        self.model = model
        self.cores = cores
        self.instructionSets = instructionSets
    }

    /// The CPU of this machine.
    public static func current() -> HostCPU {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                if !fields.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { break }
                continue
            }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return HostCPU(
            modelName: fields["model name"] ?? "unknown CPU",
            family: fields["cpu family"],
            model: fields["model"],
            cores: ProcessInfo.processInfo.activeProcessorCount,
            instructionSets: CPUFeatures.current.names
        )
    }

    /// `AMD EPYC (family 25, model 17), 2 cores, avx2 fma f16c avx512f … avx512_bf16`.
    public var description: String {
        let numbers = family.map { family in " (family \(family)" + (model.map { ", model \($0)" } ?? "") + ")" } ?? ""
        let sets = instructionSets.isEmpty ? "" : ", " + instructionSets.joined(separator: " ")
        return "\(modelName)\(numbers), \(cores) cores\(sets)"
    }
}
