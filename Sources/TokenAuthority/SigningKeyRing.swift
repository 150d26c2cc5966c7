import CryptoCore
import Diagnostics
import Foundation
import JOSE
import Synchronization

/// How the `kid` of a signing key is spelled in token headers and the JWKS.
public enum KeyIDFormat: String, Sendable, CaseIterable {
    /// Docker libtrust form (`ABCD:EFGH:…`, 12 groups); the only form registry 2.x matches.
    case libtrust
    /// The RFC 7638 JWK thumbprint (base64url SHA-256), usual for registry 3.x and JWKS consumers.
    case jwkThumbprint = "rfc7638"
}

/// A failure to load, select or write token signing keys, with a stable code.
///
/// Two errors are equal when their codes are equal. Messages name files, never key material.
public struct SigningKeyError: CodedError, Sendable {
    /// The stable, machine-readable kind of failure.
    public enum Code: String, Sendable, CaseIterable {
        /// No signing key entries were configured.
        case noKeys = "signing_key.none_configured"
        /// A key or certificate file could not be read.
        case unreadableFile = "signing_key.unreadable_file"
        /// A key file holds no usable private key.
        case invalidKey = "signing_key.invalid_key"
        /// A certificate file holds no usable certificate.
        case invalidCertificate = "signing_key.invalid_certificate"
        /// The certificate is not for the private key next to it.
        case certificateMismatch = "signing_key.certificate_mismatch"
        /// No loaded key has a certificate valid at the requested time.
        case noValidKey = "signing_key.none_valid"
        /// Writing a new key or certificate failed (or would overwrite an existing file).
        case writeFailed = "signing_key.write_failed"
    }

    /// The stable kind of failure.
    public let code: Code
    /// A human-readable explanation naming the file or time concerned.
    public let reason: String

    /// Creates an error with a code and a reason.
    public init(_ code: Code, reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// An error with code `.noKeys`, for matching.
    public static let noKeys = SigningKeyError(.noKeys)
    /// An error with code `.unreadableFile`, for matching.
    public static let unreadableFile = SigningKeyError(.unreadableFile)
    /// An error with code `.invalidKey`, for matching.
    public static let invalidKey = SigningKeyError(.invalidKey)
    /// An error with code `.invalidCertificate`, for matching.
    public static let invalidCertificate = SigningKeyError(.invalidCertificate)
    /// An error with code `.certificateMismatch`, for matching.
    public static let certificateMismatch = SigningKeyError(.certificateMismatch)
    /// An error with code `.noValidKey`, for matching.
    public static let noValidKey = SigningKeyError(.noValidKey)
    /// An error with code `.writeFailed`, for matching.
    public static let writeFailed = SigningKeyError(.writeFailed)
}

/// One token signing key: the private key, the certificate the registry trusts, and how tokens name it.
public struct SigningKey: Sendable {
    /// The private key.
    public let privateKey: PrivateKey
    /// The certificate for `privateKey` (sent as `x5c`, published in the bundle).
    public let certificate: Certificate
    /// ES256 for EC P-256 keys, RS256 for RSA keys.
    public let algorithm: SigningAlgorithm
    /// The `kid` written into token headers and the JWKS.
    public let keyID: String
    /// Where the key was read from, for messages (empty for keys built in memory).
    public let keyPath: String
    /// The base64url JWS header every token of this key carries (with `kid` and `x5c`), encoded once.
    public let encodedHeader: String

    /// Pairs a key with its certificate; the certificate must hold the key's public half.
    ///
    /// - Throws: `SigningKeyError.certificateMismatch` when it does not.
    public init(privateKey: PrivateKey, certificate: Certificate, keyIDFormat: KeyIDFormat, keyPath: String = "")
        throws
    {
        guard certificate.matches(privateKey) else {
            throw SigningKeyError(
                .certificateMismatch,
                reason: "the certificate is not for the key\(keyPath.isEmpty ? "" : " in \(keyPath)")")
        }
        self.privateKey = privateKey
        self.certificate = certificate
        switch privateKey.kind {
        case .ecP256: algorithm = .es256
        case .rsa: algorithm = .rs256
        }
        switch keyIDFormat {
        case .libtrust: keyID = privateKey.publicKey.libtrustKeyID()
        case .jwkThumbprint: keyID = privateKey.publicKey.jwkThumbprint()
        }
        self.keyPath = keyPath
        encodedHeader = JWT.encodedHeader(algorithm: algorithm, keyID: keyID, certificateChain: [certificate])
    }

    /// Whether the certificate is valid at `date` (notBefore ≤ date < notAfter).
    public func isValid(at date: Date) -> Bool { certificate.notBefore <= date && date < certificate.notAfter }

    /// Signs a claims JSON object into a compact JWT with this key's `alg`, `kid` and `x5c`.
    public func sign(claimsJSON: [UInt8]) throws -> String {
        try JWT.sign(claimsJSON: claimsJSON, encodedHeader: encodedHeader, key: privateKey, algorithm: algorithm)
    }

    /// The public JWK with `kid`, `use` "sig" and `alg`.
    public func publicJWK() -> JWK {
        var jwk = privateKey.publicKey.jwk()
        jwk.kid = keyID
        jwk.use = "sig"
        jwk.alg = algorithm.rawValue
        return jwk
    }
}

/// Every configured signing key; all are published, and the newest valid one signs.
///
/// Rotation rule: the key that signs at time t is the one whose certificate became valid most
/// recently among those valid at t (ties go to the earlier entry). Adding a key whose certificate
/// starts in the future therefore publishes it at once and lets it sign only from its notBefore,
/// exactly when the registry (which checks `x5c` validity dates) starts to accept it.
public struct SigningKeyRing: Sendable {
    /// Every loaded key, in configuration order.
    public let published: [SigningKey]

    /// A ring of keys already in memory.
    ///
    /// - Throws: `SigningKeyError.noKeys` for an empty list.
    public init(keys: [SigningKey]) throws {
        guard !keys.isEmpty else { throw SigningKeyError(.noKeys, reason: "token.signingKeys is empty") }
        published = keys
    }

    /// Reads each entry's PEM key and PEM certificate and pairs them.
    ///
    /// Reads files synchronously: call it at start-up or from a blocking pool.
    /// - Throws: `SigningKeyError` naming the first file that cannot be read, parsed or paired.
    public static func load(
        _ entries: [(keyPath: String, certificatePath: String)], keyIDFormat: KeyIDFormat = .libtrust
    ) throws -> SigningKeyRing {
        guard !entries.isEmpty else { throw SigningKeyError(.noKeys, reason: "token.signingKeys is empty") }
        let keys = try entries.map { entry -> SigningKey in
            let key: PrivateKey
            do {
                key = try PrivateKey(pem: try readText(entry.keyPath))
            } catch let error as CryptoError {
                throw SigningKeyError(.invalidKey, reason: "\(entry.keyPath): \(error)")
            }
            let certificate: Certificate
            do {
                certificate = try Certificate(pem: try readText(entry.certificatePath))
            } catch let error as CryptoError {
                throw SigningKeyError(.invalidCertificate, reason: "\(entry.certificatePath): \(error)")
            }
            guard certificate.matches(key) else {
                throw SigningKeyError(
                    .certificateMismatch, reason: "\(entry.certificatePath) is not the certificate of \(entry.keyPath)")
            }
            return try SigningKey(
                privateKey: key, certificate: certificate, keyIDFormat: keyIDFormat, keyPath: entry.keyPath)
        }
        return try SigningKeyRing(keys: keys)
    }

    /// The key that signs tokens at `date`: the valid one whose certificate started most recently
    /// (at least `takeoverMargin` ago, unless it is the only valid one).
    ///
    /// - Throws: `SigningKeyError.noValidKey` when no certificate is valid at `date`, listing each
    ///   key's validity so an operator sees at once whether all expired or none started yet.
    public func signingKey(at date: Date) throws -> SigningKey {
        // A rotated key takes over only `takeoverMargin` after its certificate becomes valid, so a registry
        // whose clock runs a little behind ours never sees a certificate that is "not yet valid". A key
        // is still used without the margin when it is the only valid one.
        let chosen = newestValid(at: date, margin: Self.takeoverMargin) ?? newestValid(at: date, margin: 0)
        guard let chosen else {
            let listing = published.map {
                "\($0.keyID) valid \($0.certificate.notBefore) to \($0.certificate.notAfter)"
                    + ($0.keyPath.isEmpty ? "" : " (\($0.keyPath))")
            }
            throw SigningKeyError(
                .noValidKey,
                reason: "no signing certificate is valid at \(date); run `portcullis keys rotate`. Keys: "
                    + listing.joined(separator: "; "))
        }
        return chosen
    }

    /// How long after its certificate's `notBefore` a rotated key starts signing.
    public static let takeoverMargin: TimeInterval = 10

    private func newestValid(at date: Date, margin: TimeInterval) -> SigningKey? {
        var chosen: SigningKey?
        for key in published where key.isValid(at: date) && key.certificate.notBefore.addingTimeInterval(margin) <= date
        {
            if let current = chosen, current.certificate.notBefore >= key.certificate.notBefore { continue }
            chosen = key
        }
        return chosen
    }

    /// The JWK Set of every published key, `{"keys":[…]}`, one entry per distinct `kid`.
    public func jwks() -> [UInt8] {
        var seen: Set<String> = []
        var entries: [String] = []
        for key in published where seen.insert(key.keyID).inserted {
            let jwk = key.publicJWK()
            var members: [(String, String)] = [("kty", JSONText.quoted(jwk.kty))]
            if let crv = jwk.crv, let x = jwk.x, let y = jwk.y {
                members += [("crv", JSONText.quoted(crv)), ("x", JSONText.quoted(x)), ("y", JSONText.quoted(y))]
            }
            if let n = jwk.n, let e = jwk.e { members += [("n", JSONText.quoted(n)), ("e", JSONText.quoted(e))] }
            members += [
                ("kid", JSONText.quoted(key.keyID)), ("use", JSONText.quoted("sig")),
                ("alg", JSONText.quoted(key.algorithm.rawValue)),
            ]
            entries.append(JSONText.object(members))
        }
        return Array(#"{"keys":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    /// The PEM concatenation of every published certificate, for the registry's `rootcertbundle`.
    public func certificateBundle() -> String {
        var seen: Set<[UInt8]> = []
        return published.filter { seen.insert($0.certificate.derEncoded).inserted }
            .map { $0.certificate.pemEncoded() }.joined()
    }

    /// The public keys by `kid`, for verifying tokens this ring signed.
    public var verificationKeys: [String: PublicKey] {
        Dictionary(published.map { ($0.keyID, $0.privateKey.publicKey) }, uniquingKeysWith: { first, _ in first })
    }

    private static func readText(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SigningKeyError(.unreadableFile, reason: "cannot read \(path): \(error.localizedDescription)")
        }
    }
}

/// The current signing key ring, replaceable at run time (SIGHUP or a periodic re-read).
///
/// Thread-safe: `ring` and `reload()` may be called from any thread; a reload that fails keeps the
/// ring that was in use, so a half-written key file never stops token issuance.
public final class SigningKeyRingStore: Sendable {
    private let entries: [(keyPath: String, certificatePath: String)]
    private let keyIDFormat: KeyIDFormat
    private let current: Mutex<SigningKeyRing>

    /// Loads the ring once; later `reload()` calls re-read the same files.
    ///
    /// - Throws: whatever `SigningKeyRing.load` throws: without a first ring there is nothing to keep.
    public init(entries: [(keyPath: String, certificatePath: String)], keyIDFormat: KeyIDFormat = .libtrust) throws {
        self.entries = entries
        self.keyIDFormat = keyIDFormat
        current = Mutex(try SigningKeyRing.load(entries, keyIDFormat: keyIDFormat))
    }

    /// Wraps a ring built in memory (tests); `reload()` then re-reads no files and keeps it.
    public init(ring: SigningKeyRing) {
        entries = []
        keyIDFormat = .libtrust
        current = Mutex(ring)
    }

    /// The ring in use.
    public var ring: SigningKeyRing { current.withLock { $0 } }

    /// Re-reads every key and certificate file and swaps the new ring in.
    ///
    /// Reads files synchronously: call it from a blocking pool or a signal-handling thread.
    /// - Throws: the load error; the previous ring stays in use.
    @discardableResult
    public func reload() throws -> SigningKeyRing {
        guard !entries.isEmpty else { return ring }
        let fresh = try SigningKeyRing.load(entries, keyIDFormat: keyIDFormat)
        current.withLock { $0 = fresh }
        return fresh
    }
}

/// Creates the next signing key for `portcullis keys rotate`.
public enum KeyRotation {
    /// Generates a key and a self-signed certificate valid from `now + delay` for `validity`, and
    /// writes them to new files (the key with mode 0600).
    ///
    /// Each file is written to a temporary name and linked into place, which fails rather than
    /// replacing an existing file, so a rotation never destroys a key in use. Key generation is
    /// CPU-bound (RSA takes a moment): call it from a blocking pool or the CLI.
    /// - Throws: `SigningKeyError.writeFailed` when a file exists or cannot be written; CryptoCore
    ///   errors for generation.
    @discardableResult
    public static func generate(
        algorithm: SigningAlgorithm = .es256, rsaBits: Int = 2048, commonName: String, delay: Duration,
        validity: Duration, keyPath: String, certificatePath: String, keyIDFormat: KeyIDFormat = .libtrust,
        now: Date = Date()
    ) throws -> SigningKey {
        for path in [keyPath, certificatePath] where FileManager.default.fileExists(atPath: path) {
            throw SigningKeyError(.writeFailed, reason: "\(path) already exists; choose new file names")
        }
        let key = try PrivateKey.generate(algorithm == .es256 ? .ecP256 : .rsa(bits: rsaBits))
        let start = now.addingTimeInterval(TimeInterval(delay.components.seconds))
        let certificate = try Certificate.selfSigned(
            key: key, commonName: commonName, validity: validity, notBefore: start)
        let signingKey = try SigningKey(
            privateKey: key, certificate: certificate, keyIDFormat: keyIDFormat, keyPath: keyPath)
        try writeNewFile(keyPath, contents: try key.pemEncoded(), mode: 0o600)
        do {
            try writeNewFile(certificatePath, contents: certificate.pemEncoded(), mode: 0o644)
        } catch {
            unlink(keyPath)
            throw error
        }
        return signingKey
    }

    /// Writes `contents` to a fresh temporary file created with `mode`, syncs it, and links it to
    /// `path` (link fails with EEXIST instead of replacing), creating the directory (0700) if needed. Also
    /// writes the webhook secrets key on first start.
    /// - Throws: `SigningKeyError.writeFailed` naming the path and the system's reason.
    public static func writeNewFile(_ path: String, contents: String, mode: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw SigningKeyError(.writeFailed, reason: "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        let temporary = path + ".tmp-\(getpid())-\(Hex.encode(SecureRandom.bytes(count: 4)))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        defer { unlink(temporary) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw failure("cannot write \(path)") }
        guard link(temporary, path) == 0 else { throw failure("cannot create \(path)") }
        // The directory entry must reach the disk too, or a crash could lose the new key.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    private static func failure(_ message: String) -> SigningKeyError {
        SigningKeyError(.writeFailed, reason: "\(message): \(String(cString: strerror(errno)))")
    }
}
