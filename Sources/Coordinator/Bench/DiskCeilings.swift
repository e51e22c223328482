import Glibc

/// The disk ceiling tier benchmarks compare their figures with, measured in the same run.
enum DiskCeilings {
    /// A ceiling that could not be measured.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        let description: String
    }

    /// GB/s of the bare durable small-file protocol on `directory`'s file system: `files` files of
    /// `bytes` bytes each written to a temporary name, fsynced, renamed and the directory fsynced
    /// (`write`); then each read back whole (`read`: a page promoted from disk keeps its file as
    /// a durable copy, so reading is all the move does). The files are removed afterwards, untimed.
    static func pageFileGBps(
        directory: String,
        bytes: Int,
        files: Int = 64
    ) throws(DiskCeilings.Failure)
        -> (write: Double, read: Double)
    {
        let content = [UInt8](repeating: 0x5A, count: bytes)
        let writeStart = ContinuousClock.now
        for index in 0..<files {
            let temporary = directory + "/ceiling-\(index).tmp"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { throw Failure(description: "cannot create \(temporary)") }
            let written = content.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes, synced, rename(temporary, directory + "/ceiling-\(index)") == 0 else {
                throw Failure(description: "cannot write \(temporary)")
            }
            let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY)
            guard directoryDescriptor >= 0, fsync(directoryDescriptor) == 0 else {
                throw Failure(description: "cannot fsync \(directory)")
            }
            close(directoryDescriptor)
        }
        let writeSeconds = writeStart.duration(to: .now).inSeconds
        var buffer = [UInt8](repeating: 0, count: bytes)
        let readStart = ContinuousClock.now
        for index in 0..<files {
            let path = directory + "/ceiling-\(index)"
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { throw Failure(description: "cannot open \(path)") }
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            guard got == bytes else { throw Failure(description: "cannot read \(path)") }
        }
        let readSeconds = readStart.duration(to: .now).inSeconds
        for index in 0..<files { unlink(directory + "/ceiling-\(index)") }
        let total = Double(bytes * files)
        return (total / writeSeconds / 1e9, total / readSeconds / 1e9)
    }

}
