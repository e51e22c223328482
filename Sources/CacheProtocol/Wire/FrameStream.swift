/// A multipart message stored as one byte string, for files such as the fuzzing corpus: each frame
/// is its byte length (u32 LE) followed by its bytes. Splitting accepts any byte string: a length
/// that runs past the end takes the bytes that are left, and 1 to 3 bytes left over where a length
/// should be form one last frame of their own.
public enum FrameStream {
    /// The frames in one byte string.
    public static func join(_ frames: [[UInt8]]) -> [UInt8] {
        var writer = WireWriter(capacity: frames.reduce(0) { $0 + 4 + $1.count })
        for frame in frames {
            writer.writeCount(frame.count)
            writer.writeRaw(frame)
        }
        return writer.bytes
    }

    /// The frames of a byte string, by the rule above; an empty string is no frames.
    public static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else {
                frames.append(Array(bytes[offset...]))
                break
            }
            var length = 0
            for index in 0..<4 { length |= Int(bytes[offset + index]) << (8 * index) }
            offset += 4
            let end = offset + min(length, bytes.count - offset)
            frames.append(Array(bytes[offset..<end]))
            offset = end
        }
        return frames
    }
}
