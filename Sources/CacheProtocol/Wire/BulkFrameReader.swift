/// Hands out the bulk frames of a message (the frames after frame 0) in order, each copied once
/// out of its frame for the message that keeps it.
public struct BulkFrameReader: Sendable {
    private let frames: [any FrameBytes]
    private var index: Int

    /// The bulk frames of a message: all frames after frame 0.
    public init<Frame: FrameBytes>(_ frames: ArraySlice<Frame>) {
        self.frames = frames.map { $0 as any FrameBytes }
        self.index = 0
    }

    /// Frames not yet taken.
    public var remaining: Int { frames.count - index }

    /// Takes the next frame, copied into an array; throws `frameCountMismatch` when the body calls
    /// for more frames than the message has.
    public mutating func next() throws(WireError) -> [UInt8] {
        guard index < frames.count else {
            throw .frameCountMismatch(expected: 1 + index + 1, actual: 1 + frames.count)
        }
        defer { index += 1 }
        return frames[index].withUnsafeBytes { Array($0) }
    }

    /// Throws `frameCountMismatch` unless every frame has been taken.
    public func finish() throws(WireError) {
        guard index == frames.count else { throw .frameCountMismatch(expected: 1 + index, actual: 1 + frames.count) }
    }
}
