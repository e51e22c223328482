import CZeroMQ
import Foundation

/// A CURVE key pair, each key as 40 characters of Z85 (ZeroMQ's base-85 text form of 32 bytes).
///
/// Key files are text, one `name = value` per line (the value is everything after the first `=`,
/// trimmed); lines whose first non-blank character is `#` are comments (`#` and `=` are Z85
/// characters, so a comment never follows a value):
///
///     # mfa-cluster CURVE key pair
///     public = <40 Z85 characters>
///     secret = <40 Z85 characters>
///
/// A file with a secret is written with mode 0600 and refused when group or others may read it; a
/// public-key file (what clients are given about a server) holds only the `public` line.
public struct ZMQCurveKeyPair: Sendable, Hashable {
    /// The public key, Z85.
    public let publicKey: String
    /// The secret key, Z85.
    public let secretKey: String

    /// Wraps two Z85 keys; throws `TransportError.invalidCurveKey` unless each decodes to 32 bytes.
    public init(publicKey: String, secretKey: String) throws(TransportError) {
        try Self.validate(publicKey)
        try Self.validate(secretKey)
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from `zmq_curve_keypair`.
    public static func generate() throws(TransportError) -> ZMQCurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw .lastZMQ("zmq_curve_keypair") }
        func text(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return try ZMQCurveKeyPair(publicKey: text(publicKey), secretKey: text(secretKey))
    }

    /// Checks that `key` is 40 Z85 characters encoding 32 bytes.
    public static func validate(_ key: String) throws(TransportError) {
        guard key.utf8.count == 40 else {
            throw .invalidCurveKey("expected 40 Z85 characters, got \(key.utf8.count)")
        }
        var decoded = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&decoded, key) != nil else {
            throw .invalidCurveKey("\"\(key)\" is not Z85")
        }
    }

    /// The key pair in the file at `path`; throws `TransportError.keyFile` when the file is missing,
    /// readable by group or others, malformed, or lacks a key.
    public static func read(from path: String) throws(TransportError) -> ZMQCurveKeyPair {
        let fields = try parse(path)
        let permissions: Int
        do {
            permissions = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o777
        } catch {
            throw .keyFile(path: path, reason: "cannot read its permissions: \(error.localizedDescription)")
        }
        guard permissions & 0o077 == 0 else {
            throw .keyFile(
                path: path,
                reason: "holds a secret key but has mode \(String(permissions, radix: 8)); expected 600"
            )
        }
        guard let publicKey = fields["public"] else { throw .keyFile(path: path, reason: "no `public = …` line") }
        guard let secretKey = fields["secret"] else { throw .keyFile(path: path, reason: "no `secret = …` line") }
        return try ZMQCurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }

    /// The public key in the file at `path` (a key-pair file or a public-key file).
    public static func readPublicKey(from path: String) throws(TransportError) -> String {
        guard let key = try parse(path)["public"] else { throw .keyFile(path: path, reason: "no `public = …` line") }
        try validate(key)
        return key
    }

    /// Writes both keys to `path` with mode 0600.
    public func write(to path: String) throws(TransportError) {
        try Self.write(
            "# mfa-cluster CURVE key pair\npublic = \(publicKey)\nsecret = \(secretKey)\n",
            to: path,
            mode: 0o600
        )
    }

    /// Writes the public key alone to `path` with mode 0644: what clients of a server are given.
    public func writePublicKey(to path: String) throws(TransportError) {
        try Self.write("# mfa-cluster CURVE public key\npublic = \(publicKey)\n", to: path, mode: 0o644)
    }

    private static func write(_ text: String, to path: String, mode: Int) throws(TransportError) {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            do { try manager.removeItem(atPath: path) } catch {
                throw .keyFile(path: path, reason: "cannot replace: \(error.localizedDescription)")
            }
        }
        guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw .keyFile(path: path, reason: "cannot create")
        }
    }

    private static func parse(_ path: String) throws(TransportError) -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .keyFile(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        var fields = [String: String]()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.trimmingCharacters(in: .whitespaces)
            if content.isEmpty || content.hasPrefix("#") { continue }
            let parts = content.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard parts.count == 2, name == "public" || name == "secret" else {
                throw .keyFile(path: path, reason: "line \(number + 1): expected `public = …` or `secret = …`")
            }
            guard fields[name] == nil else {
                throw .keyFile(path: path, reason: "line \(number + 1): second `\(name)` line")
            }
            fields[name] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
