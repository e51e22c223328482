import Foundation

/// The CPU a benchmark ran on, as `/proc/cpuinfo` names it, so that every figure is printed with
/// its machine: the model name, the family and model numbers (which tell AMD Zen generations
/// apart where the name does not) and the cores this process may use.
public struct HostCPU: Sendable, Hashable, CustomStringConvertible {
    /// `model name`, or `unknown CPU`.
    public var modelName: String
    /// `cpu family` and `model`, when present.
    public var family: String?
    /// `model`, when present.
    public var model: String?
    /// Cores this process may use.
    public var cores: Int

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
            cores: ProcessInfo.processInfo.activeProcessorCount
        )
    }

    /// `AMD EPYC (family 25, model 17), 2 cores`.
    public var description: String {
        let numbers = family.map { family in " (family \(family)" + (model.map { ", model \($0)" } ?? "") + ")" } ?? ""
        return "\(modelName)\(numbers), \(cores) cores"
    }
}
