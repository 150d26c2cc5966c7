import CryptoCore
import Foundation

/// `portcullis keys generate`: a signing key and the self-signed certificate the registry trusts.
enum KeyCommands {
    static func generate(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["force"])
        let type = parsed.option("type") ?? "ec"
        let bits = parsed.option("bits")
        let keyPath = parsed.option("key")
        let certificatePath = parsed.option("certificate")
        let commonName = parsed.option("common-name")
        let force = parsed.flag("force")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)

        let kind: KeyKind
        switch type {
        case "ec", "ecdsa", "p256", "es256":
            guard bits == nil else { throw CommandFailure(.usage, "--bits applies to RSA keys only") }
            kind = .ecP256
        case "rsa", "rs256":
            guard let count = Int(bits ?? "2048"), count >= 2048, count <= 8192 else {
                throw CommandFailure(.usage, "--bits must be a number from 2048 to 8192 for RSA keys")
            }
            kind = .rsa(bits: count)
        default:
            throw CommandFailure(.usage, "--type must be 'ec' (P-256, ES256) or 'rsa' (RS256)")
        }
        let defaults = context.configuration.token.signingKeys.first
        let destination = SigningKeyFiles(
            keyPath: keyPath ?? defaults?.key ?? "var/keys/signing-key.pem",
            certificatePath: certificatePath ?? defaults?.certificate ?? "var/keys/signing-cert.pem")
        try destination.generate(
            kind: kind, commonName: commonName ?? context.configuration.token.issuer, overwrite: force)
        print("wrote private key \(destination.keyPath) (mode 0600)")
        print("wrote certificate \(destination.certificatePath); give it to the registry as auth.token.rootcertbundle")
    }
}

/// Where one signing key and its certificate live on disk.
struct SigningKeyFiles {
    let keyPath: String
    let certificatePath: String

    /// Whether both files exist.
    var exist: Bool {
        FileManager.default.fileExists(atPath: keyPath) && FileManager.default.fileExists(atPath: certificatePath)
    }

    /// Generates a key and a self-signed certificate for it, writing the key with mode 0600.
    func generate(kind: KeyKind, commonName: String, overwrite: Bool) throws {
        for path in [keyPath, certificatePath] where !overwrite && FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(.cannotCreate, "\(path) already exists; pass --force to replace it")
        }
        let key = try PrivateKey.generate(kind)
        let certificate = try Certificate.selfSigned(
            key: key, commonName: commonName, subjectAlternativeNames: [], validity: .seconds(3650 * 86_400))
        try writeFile(keyPath, contents: try key.pemEncoded(), mode: 0o600)
        try writeFile(certificatePath, contents: certificate.pemEncoded(), mode: 0o644)
    }

    /// Writes `contents` through a temporary file renamed into place, so a crash never leaves half a
    /// key behind, and creates the file with `mode` from the start (never world-readable, not even briefly).
    private func writeFile(_ path: String, contents: String, mode: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw CommandFailure(.cannotCreate, "cannot create directory \(directory): \(error.localizedDescription)")
            }
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CommandFailure(.cannotCreate, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CommandFailure(.cannotCreate, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, mode)
    }
}
