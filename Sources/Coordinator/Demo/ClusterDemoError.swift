/// Why the cluster demo could not go on (failed checks are not errors: the report lists them).
enum ClusterDemoError: Error, Sendable, CustomStringConvertible {
    /// The demo's model spec does not parse.
    case model(String)
    /// The local cluster did not start.
    case clusterStart(String)
    /// A worker answered something no correct worker answers.
    case badAnswer(String)

    /// What went wrong, in one sentence.
    var description: String {
        switch self {
        case .model(let reason): "the demo's model spec is invalid: \(reason)"
        case .clusterStart(let reason): "the local cluster did not start: \(reason)"
        case .badAnswer(let reason): "implausible answer: \(reason)"
        }
    }
}
