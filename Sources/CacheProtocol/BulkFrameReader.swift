/// Hands out the bulk frames of a message (the frames after frame 0) in order.
public struct BulkFrameReader: Sendable {
    private let frames: [[UInt8]]
    private var index: Int

    /// The bulk frames of a message: all frames after frame 0.
    public init(_ frames: ArraySlice<[UInt8]>) {
        self.frames = Array(frames)
        self.index = 0
    }

    /// Frames not yet taken.
    public var remaining: Int { frames.count - index }

    /// Takes the next frame; throws `frameCountMismatch` when the body calls for more frames than
    /// the message has.
    public mutating func next() throws(WireError) -> [UInt8] {
        guard index < frames.count else {
            throw .frameCountMismatch(expected: 1 + index + 1, actual: 1 + frames.count)
        }
        defer { index += 1 }
        return frames[index]
    }

    /// Throws `frameCountMismatch` unless every frame has been taken.
    public func finish() throws(WireError) {
        guard index == frames.count else { throw .frameCountMismatch(expected: 1 + index, actual: 1 + frames.count) }
    }
}
