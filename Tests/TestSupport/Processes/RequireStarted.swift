import Testing

/// What `start` returns; when it throws, a failed `#require` whose comment is the error's
/// description (for a launch: the child's stderr and stdout tail) fails the calling test at
/// `sourceLocation`.
func requireStarted<Handle>(
    _ name: String,
    sourceLocation: SourceLocation,
    _ start: () throws -> Handle
) throws -> Handle {
    let result = Result(catching: start)
    var failure = ""
    if case .failure(let error) = result { failure = "\(error)" }
    return try #require(try? result.get(), "\(name) did not start: \(failure)", sourceLocation: sourceLocation)
}
