import CryptoCore
import Foundation
import IdentityCore
import TokenAuthority

/// `portcullis keys …`: signing keys, their rotation, and what registries need to trust them.
enum KeyCommands {
    /// How long generated certificates are valid.
    static let certificateValidity: Duration = .seconds(3650 * 86_400)

    /// `keys generate`: a signing key (mode 0600) and its self-signed certificate, valid from now.
    static func generate(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["force"])
        let options = try KeyOptions(&parsed)
        let keyPath = parsed.option("key")
        let certificatePath = parsed.option("certificate")
        let force = parsed.flag("force")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let first = context.configuration.token.signingKeys.first
        let files = SigningKeyFiles(
            keyPath: keyPath ?? first?.key ?? "var/keys/signing-key.pem",
            certificatePath: certificatePath ?? first?.certificate ?? "var/keys/signing-cert.pem")
        if !force {
            for path in [files.keyPath, files.certificatePath] where FileManager.default.fileExists(atPath: path) {
                throw CommandFailure(.cannotCreate, "\(path) already exists; pass --force to replace it")
            }
        }
        try files.generate(
            options, commonName: options.commonName ?? context.configuration.token.issuer, delay: .zero,
            replacing: force)
        print("wrote private key \(files.keyPath) (mode 0600)")
        print("wrote certificate \(files.certificatePath); give it to the registry as auth.token.rootcertbundle")
    }

    /// `keys rotate`: a new key that is published at once and signs only from `--activate-in` later.
    static func rotate(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let options = try KeyOptions(&parsed)
        let activateText = parsed.option("activate-in") ?? "1h"
        let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
            .filter { $0.isNumber }
        let keyPath = parsed.option("key") ?? "var/keys/signing-key-\(stamp).pem"
        let certificatePath = parsed.option("certificate") ?? "var/keys/signing-cert-\(stamp).pem"
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        guard let activation = ConfigDuration(parsing: activateText), activation.seconds >= 0 else {
            throw CommandFailure(.usage, "--activate-in must be a duration such as 1h, 15m or 30s")
        }
        let files = SigningKeyFiles(keyPath: keyPath, certificatePath: certificatePath)
        let key = try files.generate(
            options, commonName: options.commonName ?? context.configuration.token.issuer,
            delay: .seconds(activation.seconds), replacing: false)
        let signsFrom = key.certificate.notBefore.addingTimeInterval(SigningKeyRing.takeoverMargin)
        print(
            """
            wrote private key \(keyPath) (mode 0600) and certificate \(certificatePath), kid \(key.keyID)
            It signs tokens from \(signsFrom.formatted(.iso8601)). Before then:
              1. add it to token.signingKeys in config.d (keep the current key listed):
                   - key: \(keyPath)
                     certificate: \(certificatePath)
                 a running server picks it up within 30 s;
              2. give registries the new bundle: portcullis keys bundle --output <rootcertbundle>,
                 and restart them (registry 2.x reads the bundle at start; 3.x: portcullis keys jwks).
            Remove the old key from token.signingKeys once its last tokens have expired.
            """)
    }

    /// `keys bundle [--output PATH]`: every published certificate, for the registry's rootcertbundle.
    static func bundle(_ arguments: [String]) async throws {
        try await writeFromRing(arguments, what: "certificate bundle") { Array($0.certificateBundle().utf8) }
    }

    /// `keys jwks [--output PATH]`: the JWK Set of every published key, for registry 3.x's `jwks` option.
    static func jwks(_ arguments: [String]) async throws {
        try await writeFromRing(arguments, what: "JWKS") { $0.jwks() + [UInt8(ascii: "\n")] }
    }

    private static func writeFromRing(
        _ arguments: [String], what: String, _ render: (SigningKeyRing) -> [UInt8]
    ) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let output = parsed.option("output")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let token = context.configuration.token
        let ring: SigningKeyRing
        do {
            ring = try SigningKeyRing.load(
                token.keyRingEntries, keyIDFormat: token.ringKeyIDFormat)
        } catch {
            throw CommandFailure(.noInput, "cannot load token.signingKeys: \(error)")
        }
        let bytes = render(ring)
        guard let output else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        do { try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
            throw CommandFailure(.cannotCreate, "cannot write \(output): \(error.localizedDescription)")
        }
        printError("wrote the \(what) of \(ring.published.count) key(s) to \(output)")
    }
}

/// `--type ec|rsa`, `--bits N` and `--common-name CN`, shared by `keys generate` and `keys rotate`.
struct KeyOptions {
    var algorithm: SigningAlgorithm
    var rsaBits: Int
    var commonName: String?

    /// What `keys generate` makes without options and `serve` makes on first start: EC P-256 (ES256).
    static let defaultKey = KeyOptions(algorithm: .es256, rsaBits: 0, commonName: nil)

    init(algorithm: SigningAlgorithm, rsaBits: Int, commonName: String?) {
        self.algorithm = algorithm
        self.rsaBits = rsaBits
        self.commonName = commonName
    }

    init(_ parsed: inout ParsedArguments) throws(CommandFailure) {
        let bits = parsed.option("bits")
        commonName = parsed.option("common-name")
        switch parsed.option("type") ?? "ec" {
        case "ec", "ecdsa", "p256", "es256":
            guard bits == nil else { throw CommandFailure(.usage, "--bits applies to RSA keys only") }
            algorithm = .es256
            rsaBits = 0
        case "rsa", "rs256":
            guard let count = Int(bits ?? "2048"), (2048...8192).contains(count) else {
                throw CommandFailure(.usage, "--bits must be a number from 2048 to 8192 for RSA keys")
            }
            algorithm = .rs256
            rsaBits = count
        default:
            throw CommandFailure(.usage, "--type must be 'ec' (P-256, ES256) or 'rsa' (RS256)")
        }
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

    /// Whether both files exist by the end of `timeout`, asked every 50 ms: a key without its certificate
    /// is another process's first start, between linking the key and the certificate.
    func appear(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !exist {
            guard ContinuousClock.now < deadline else { return false }
            usleep(50_000)
        }
        return true
    }

    /// Generates a key and a certificate valid from `delay` from now, written as new files (the key with
    /// mode 0600, each through a temporary file, so a crash never leaves half a key).
    @discardableResult
    func generate(_ options: KeyOptions, commonName: String, delay: Duration, replacing: Bool) throws(CommandFailure)
        -> SigningKey
    {
        if replacing {
            for path in [keyPath, certificatePath] { unlink(path) }
        }
        do {
            return try KeyRotation.generate(
                algorithm: options.algorithm, rsaBits: max(options.rsaBits, 2048), commonName: commonName,
                delay: delay, validity: KeyCommands.certificateValidity, keyPath: keyPath,
                certificatePath: certificatePath)
        } catch {
            throw CommandFailure(.cannotCreate, "\(error)")
        }
    }
}
