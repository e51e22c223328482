import Foundation

/// The repository's test data in `Tests/Fixtures` (see its README for provenance), found from this
/// source file's location so that tests run from any working directory. Nothing a test reads lies
/// outside the repository.
public enum Fixtures {
    /// `Tests/Fixtures` of this checkout.
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The root of this checkout.
    public static let repository = directory.deletingLastPathComponent().deletingLastPathComponent()

    /// The path of `relativePath` (e.g. `data/mooncake-excerpt.jsonl`) in this checkout.
    public static func repositoryPath(_ relativePath: String) -> String {
        repository.appendingPathComponent(relativePath).path
    }

    /// The path of fixture `name`.
    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }
}
