import COpenSSL
import Foundation

/// The kinds of asymmetric key CryptoCore creates and accepts.
public enum KeyKind: Sendable, Hashable, CustomStringConvertible {
    /// An ECDSA key on NIST P-256 (prime256v1), used with ES256.
    case ecP256
    /// An RSA key of the given modulus size (2048 bits or more), used with RS256.
    case rsa(bits: Int)

    /// "EC P-256" or "RSA-2048" and so on.
    public var description: String {
        switch self {
        case .ecP256: return "EC P-256"
        case .rsa(let bits): return "RSA-\(bits)"
        }
    }

    /// RSA moduli below this many bits are refused everywhere.
    public static let minimumRSABits = 2048
    /// RSA moduli above this many bits are refused, because verifying with them is a cheap way to burn CPU.
    public static let maximumRSABits = 16384
}

/// The JWS signature algorithms CryptoCore implements.
public enum SigningAlgorithm: String, Sendable, CaseIterable {
    /// ECDSA on P-256 with SHA-256; signatures are raw `r || s`, 64 bytes (RFC 7518 §3.4).
    case es256 = "ES256"
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5): what some OpenID
    /// providers sign ID tokens with. Portcullis's own tokens never use it (registries accept ES256 and RS256).
    case ps256 = "PS256"

    /// Whether this algorithm can be used with a key of `kind`.
    public func fits(_ kind: KeyKind) -> Bool {
        switch (self, kind) {
        case (.es256, .ecP256), (.rs256, .rsa), (.ps256, .rsa): return true
        default: return false
        }
    }
}

/// An EC P-256 or RSA private key held by OpenSSL.
///
/// Immutable after creation and safe to share between threads (OpenSSL 3 allows concurrent use of an
/// `EVP_PKEY`). Signing is synchronous; RSA key generation can take a few hundred milliseconds, so run
/// it on a blocking pool.
public final class PrivateKey: @unchecked Sendable {
    /// The OpenSSL key (`EVP_PKEY *`), owned by this object; TLS code in this module may borrow it.
    let pkey: OpaquePointer
    /// What kind of key this is.
    public let kind: KeyKind
    /// The matching public key.
    public let publicKey: PublicKey
    /// Signing contexts already through `EVP_PKEY_sign_init`, each used by one signer at a time: setting
    /// one up costs about half as much again as the signature itself (OpenSSL 3 fetches the algorithm
    /// by name on every init), and a token server signs with the same key all day.
    private var idleSigners: [OpaquePointer] = []
    private let signersLock = NSLock()
    /// At most this many idle contexts are kept; more concurrent signers make and free their own.
    private static let maximumIdleSigners = 16

    private init(owning pkey: OpaquePointer) throws {
        do {
            self.kind = try KeyInspector.kind(of: pkey)
            let spki = try OpenSSLSupport.derEncode("public key") { i2d_PUBKEY(pkey, $0) }
            self.publicKey = try PublicKey(spkiDER: spki)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    deinit {
        for context in idleSigners { EVP_PKEY_CTX_free(context) }
        EVP_PKEY_free(pkey)
    }

    /// Generates a new random key of `kind`; RSA needs at least 2048 bits.
    public static func generate(_ kind: KeyKind) throws -> PrivateKey {
        let algorithm: StaticString
        switch kind {
        case .ecP256: algorithm = "EC"
        case .rsa(let bits):
            guard bits >= KeyKind.minimumRSABits else {
                throw CryptoError(.weakKey, reason: "RSA keys need at least \(KeyKind.minimumRSABits) bits")
            }
            guard bits <= KeyKind.maximumRSABits else {
                throw CryptoError(.invalidArgument, reason: "RSA keys above \(KeyKind.maximumRSABits) bits are refused")
            }
            algorithm = "RSA"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, OpenSSLSupport.cString(algorithm), nil) else {
            throw OpenSSLSupport.error(.keyGenerationFailed, "no key context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else {
            throw OpenSSLSupport.error(.keyGenerationFailed, "keygen init failed")
        }
        switch kind {
        case .ecP256:
            guard EVP_PKEY_CTX_set_group_name(context, OpenSSLSupport.cString("P-256")) == 1 else {
                throw OpenSSLSupport.error(.keyGenerationFailed, "cannot select P-256")
            }
        case .rsa(let bits):
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
                throw OpenSSLSupport.error(.keyGenerationFailed, "cannot set RSA size")
            }
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_generate(context, &generated) == 1, let generated else {
            throw OpenSSLSupport.error(.keyGenerationFailed, "generation failed")
        }
        return try PrivateKey(owning: generated)
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`) or traditional (`EC PRIVATE KEY`, `RSA PRIVATE KEY`).
    ///
    /// Encrypted keys are refused (no passphrase prompt ever reaches a terminal), as are curves other
    /// than P-256, key types other than EC and RSA, and RSA keys under 2048 bits.
    public convenience init(pem: String) throws {
        let pkey = try OpenSSLSupport.withReadBIO(Array(pem.utf8)) { bio -> OpaquePointer in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePEMPassphrase, nil) else {
                throw OpenSSLSupport.error(.invalidPEM, "no readable unencrypted private key in PEM")
            }
            return key
        }
        try self.init(owning: pkey)
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    public func pemEncoded() throws -> String {
        let bytes = try OpenSSLSupport.collectWrittenBytes("PKCS#8 PEM") { bio in
            PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Signs `message` with `algorithm` (SHA-256 inside); ES256 returns raw `r || s` (64 bytes).
    public func sign(_ message: [UInt8], algorithm: SigningAlgorithm) throws -> [UInt8] {
        guard algorithm.fits(kind) else {
            throw CryptoError(.algorithmMismatch, reason: "\(algorithm.rawValue) cannot sign with a \(kind) key")
        }
        if algorithm == .ps256 { return try signPSS(message) }
        let digest = Digest.sha256(message)
        let context = try checkOutSigner()
        var length = Int(EVP_PKEY_get_size(pkey))
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { output in
            digest.withUnsafeBufferPointer {
                EVP_PKEY_sign(context, output.baseAddress, &length, $0.baseAddress, $0.count)
            }
        }
        guard signed == 1 else {
            // A context that failed may hold half-done state: free it rather than reuse it.
            EVP_PKEY_CTX_free(context)
            throw OpenSSLSupport.error(.signingFailed, "signing failed")
        }
        checkIn(context)
        signature.removeSubrange(length...)
        switch algorithm {
        case .rs256, .ps256: return signature
        case .es256: return try ECDSASignatureFormat.raw(fromDER: signature)
        }
    }

    /// A PS256 signature: rare (tests and peers), so made with a fresh context rather than the pooled ones.
    private func signPSS(_ message: [UInt8]) throws -> [UInt8] {
        defer { OpenSSLSupport.clearErrors() }
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLSupport.error(.signingFailed, "no signing context") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit(context, &keyContext, EVP_sha256(), nil, pkey) == 1,
            EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
            EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
        else { throw OpenSSLSupport.error(.signingFailed, "PSS sign init failed") }
        var length = Int(EVP_PKEY_get_size(pkey))
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { output in
            message.withUnsafeBufferPointer {
                EVP_DigestSign(context, output.baseAddress, &length, $0.baseAddress, $0.count)
            }
        }
        guard signed == 1 else { throw OpenSSLSupport.error(.signingFailed, "signing failed") }
        signature.removeSubrange(length...)
        return signature
    }

    /// An idle signing context, or a new one: `EVP_PKEY_sign_init` done, and for RSA PKCS#1 v1.5
    /// padding with a SHA-256 DigestInfo.
    private func checkOutSigner() throws -> OpaquePointer {
        if let idle = signersLock.withLock({ idleSigners.popLast() }) { return idle }
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw OpenSSLSupport.error(.signingFailed, "no signing context")
        }
        var ready = EVP_PKEY_sign_init(context) == 1
        if ready, case .rsa = kind {
            ready =
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
                && EVP_PKEY_CTX_set_signature_md(context, Digest.sha256Algorithm) == 1
        }
        guard ready else {
            EVP_PKEY_CTX_free(context)
            throw OpenSSLSupport.error(.signingFailed, "sign init failed")
        }
        return context
    }

    private func checkIn(_ context: OpaquePointer) {
        let kept = signersLock.withLock {
            guard idleSigners.count < Self.maximumIdleSigners else { return false }
            idleSigners.append(context)
            return true
        }
        if !kept { EVP_PKEY_CTX_free(context) }
    }
}

/// A PEM passphrase callback that always fails, so encrypted PEM is rejected instead of prompting on a terminal.
func refusePEMPassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32, _ context: UnsafeMutableRawPointer?
) -> Int32 { -1 }

/// The public numbers of a supported key, without any encoding: what a JWK (in JOSE) or any other
/// key format carries. Big-endian unsigned bytes throughout.
public enum PublicKeyComponents: Sendable, Hashable {
    /// An EC P-256 point: x and y, 32 bytes each.
    case ecP256(x: [UInt8], y: [UInt8])
    /// An RSA key: the modulus and the public exponent, without leading zero bytes.
    case rsa(modulus: [UInt8], exponent: [UInt8])
}

/// An EC P-256 or RSA public key held by OpenSSL.
///
/// Immutable and safe to share between threads. Verification never throws: any malformed input is
/// simply an invalid signature.
public final class PublicKey: @unchecked Sendable {
    /// The OpenSSL key (`EVP_PKEY *`), owned by this object.
    let pkey: OpaquePointer
    /// What kind of key this is.
    public let kind: KeyKind
    /// The DER SubjectPublicKeyInfo (what `openssl pkey -pubout -outform DER` prints).
    public let spkiDER: [UInt8]
    /// The key's public numbers, from which JOSE builds its JWK.
    public var components: PublicKeyComponents {
        switch kind {
        case .ecP256: .ecP256(x: publicNumbers.first, y: publicNumbers.second)
        case .rsa: .rsa(modulus: publicNumbers.first, exponent: publicNumbers.second)
        }
    }
    /// The two public numbers (x and y, or the modulus and the exponent), kept as plain arrays rather than
    /// inside the enum: Swift may keep an enum's case in a payload pointer's spare bits, and LeakSanitizer
    /// (the fuzz targets' ASan build) then takes the array behind that pointer for a leak.
    private let publicNumbers: (first: [UInt8], second: [UInt8])

    /// Takes ownership of `pkey`, freeing it if the key is refused.
    init(owning pkey: OpaquePointer) throws {
        do {
            let kind = try KeyInspector.kind(of: pkey)
            self.kind = kind
            self.spkiDER = try OpenSSLSupport.derEncode("public key") { i2d_PUBKEY(pkey, $0) }
            switch try KeyInspector.components(of: pkey, kind: kind) {
            case .ecP256(let x, let y): self.publicNumbers = (x, y)
            case .rsa(let modulus, let exponent): self.publicNumbers = (modulus, exponent)
            }
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Reads a DER SubjectPublicKeyInfo; trailing bytes are refused.
    public convenience init(spkiDER: [UInt8]) throws {
        guard !spkiDER.isEmpty, spkiDER.count < Int(Int32.max) else {
            throw CryptoError(.invalidDER, reason: "empty or oversized SubjectPublicKeyInfo")
        }
        let pkey = try spkiDER.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let key = d2i_PUBKEY(nil, &cursor, buffer.count) else {
                throw OpenSSLSupport.error(.invalidDER, "not a SubjectPublicKeyInfo")
            }
            guard cursor == buffer.baseAddress.map({ $0 + buffer.count }) else {
                EVP_PKEY_free(key)
                throw CryptoError(.invalidDER, reason: "trailing bytes after SubjectPublicKeyInfo")
            }
            return key
        }
        try self.init(owning: pkey)
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    public convenience init(pem: String) throws {
        let pkey = try OpenSSLSupport.withReadBIO(Array(pem.utf8)) { bio -> OpaquePointer in
            guard let key = PEM_read_bio_PUBKEY(bio, nil, refusePEMPassphrase, nil) else {
                throw OpenSSLSupport.error(.invalidPEM, "no PUBLIC KEY block in PEM")
            }
            return key
        }
        try self.init(owning: pkey)
    }

    /// Builds a key from its public numbers (JOSE's `PublicKey(jwk:)` decodes a JWK into these).
    ///
    /// - Throws: `CryptoError.invalidJWK` for an EC point off P-256 or an empty RSA modulus or exponent
    ///   (the code keeps its JOSE name: a JWK is where such numbers come from), `.weakKey` below 2048
    ///   RSA bits, `.unsupportedKey` above the largest supported modulus.
    public convenience init(components: PublicKeyComponents) throws {
        try self.init(owning: try KeyInspector.pkey(from: components))
    }

    /// The key as PEM `PUBLIC KEY`.
    public func pemEncoded() -> String {
        let body = Data64.encodeLines(spkiDER)
        return "-----BEGIN PUBLIC KEY-----\n\(body)-----END PUBLIC KEY-----\n"
    }

    /// Whether `signature` is a valid `algorithm` signature of `message` by this key.
    ///
    /// ES256 signatures must be exactly 64 bytes of raw `r || s`; an algorithm that does not fit the
    /// key, or any malformed signature, gives false. Leaves OpenSSL's error queue empty.
    public func verify(signature: [UInt8], message: [UInt8], algorithm: SigningAlgorithm) -> Bool {
        defer { OpenSSLSupport.clearErrors() }
        guard algorithm.fits(kind), !signature.isEmpty else { return false }
        let encoded: [UInt8]
        switch algorithm {
        case .rs256, .ps256: encoded = signature
        case .es256:
            guard signature.count == 64, let der = try? ECDSASignatureFormat.der(fromRaw: signature) else {
                return false
            }
            encoded = der
        }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &keyContext, EVP_sha256(), nil, pkey) == 1 else { return false }
        if algorithm == .ps256 {
            // RFC 7518 §3.5: MGF1 with the same SHA-256 (OpenSSL's default) and a salt as long as the hash.
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else { return false }
        }
        let result = encoded.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer {
                EVP_DigestVerify(context, sig.baseAddress, sig.count, $0.baseAddress, $0.count)
            }
        }
        return result == 1
    }

    /// The Docker libtrust key id: the first 240 bits of SHA-256(SPKI DER), base32, 12 groups of 4 joined by ':'.
    public func libtrustKeyID() -> String {
        let encoded = Array(Base32.encodeUnpadded(Array(Digest.sha256(spkiDER).prefix(30))))
        return stride(from: 0, to: encoded.count, by: 4)
            .map { String(encoded[$0..<min($0 + 4, encoded.count)]) }
            .joined(separator: ":")
    }
}

/// Plain base64 with 64-character lines, for PEM bodies.
enum Data64 {
    static func encodeLines(_ bytes: [UInt8]) -> String {
        let text = Array(Data(bytes).base64EncodedString().utf8)
        var output = ""
        for start in stride(from: 0, to: text.count, by: 64) {
            output += String(decoding: text[start..<min(start + 64, text.count)], as: UTF8.self) + "\n"
        }
        return output
    }
}

/// Reads the type and public components of an `EVP_PKEY`, and builds one from public components.
enum KeyInspector {
    static func kind(of pkey: OpaquePointer) throws -> KeyKind {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let ok = name.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_group_name(pkey, $0.baseAddress, $0.count, &length)
            }
            let group = OpenSSLSupport.string(fromNulTerminated: name)
            guard ok == 1, group == "prime256v1" || group == "P-256" else {
                OpenSSLSupport.clearErrors()
                throw CryptoError(.unsupportedKey, reason: "EC keys must use P-256")
            }
            return .ecP256
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(pkey))
            guard bits >= KeyKind.minimumRSABits else {
                throw CryptoError(
                    .weakKey, reason: "RSA key has \(bits) bits, at least \(KeyKind.minimumRSABits) needed")
            }
            guard bits <= KeyKind.maximumRSABits else {
                throw CryptoError(
                    .unsupportedKey, reason: "RSA key has \(bits) bits, at most \(KeyKind.maximumRSABits) accepted")
            }
            return .rsa(bits: bits)
        default:
            throw CryptoError(.unsupportedKey, reason: "only EC P-256 and RSA keys are supported")
        }
    }

    static func components(of pkey: OpaquePointer, kind: KeyKind) throws -> PublicKeyComponents {
        switch kind {
        case .ecP256:
            let x = try bignumParameter(pkey, OpenSSLSupport.cString("qx"), width: 32)
            let y = try bignumParameter(pkey, OpenSSLSupport.cString("qy"), width: 32)
            return .ecP256(x: x, y: y)
        case .rsa:
            let n = try bignumParameter(pkey, OpenSSLSupport.cString("n"), width: nil)
            let e = try bignumParameter(pkey, OpenSSLSupport.cString("e"), width: nil)
            return .rsa(modulus: n, exponent: e)
        }
    }

    private static func bignumParameter(_ pkey: OpaquePointer, _ name: UnsafePointer<CChar>, width: Int?) throws
        -> [UInt8]
    {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &value) == 1, let value else {
            throw OpenSSLSupport.error(.internalFailure, "cannot read a public key parameter")
        }
        defer { BN_free(value) }
        return OpenSSLSupport.bytes(of: value, paddedTo: width)
    }

    static func pkey(from components: PublicKeyComponents) throws -> OpaquePointer {
        switch components {
        case .ecP256(let x, let y):
            guard x.count == 32, y.count == 32 else {
                throw CryptoError(.invalidJWK, reason: "EC P-256 needs 32-byte x and y")
            }
            return try ecPublicKey(point: [0x04] + x + y)
        case .rsa(let modulus, let exponent):
            let n = Array(modulus.drop { $0 == 0 })
            let e = Array(exponent.drop { $0 == 0 })
            guard !e.isEmpty, e.count <= 8, !n.isEmpty else {
                throw CryptoError(.invalidJWK, reason: "RSA key has an empty modulus or a bad exponent")
            }
            let bits = n.count * 8 - n[0].leadingZeroBitCount
            guard bits >= KeyKind.minimumRSABits else {
                throw CryptoError(
                    .weakKey, reason: "RSA key has \(bits) bits, at least \(KeyKind.minimumRSABits) needed")
            }
            guard bits <= KeyKind.maximumRSABits else {
                throw CryptoError(.unsupportedKey, reason: "RSA modulus too large")
            }
            return try rsaPublicKey(n: n, e: e)
        }
    }

    private static func ecPublicKey(point: [UInt8]) throws -> OpaquePointer {
        guard let builder = OSSL_PARAM_BLD_new() else {
            throw OpenSSLSupport.error(.internalFailure, "no param builder")
        }
        defer { OSSL_PARAM_BLD_free(builder) }
        // OSSL_PARAM_BLD keeps the name and data pointers until to_param: static names, and to_param
        // inside the closure that owns the point bytes.
        let pkey = try point.withUnsafeBytes { raw -> OpaquePointer in
            guard
                OSSL_PARAM_BLD_push_utf8_string(
                    builder, OpenSSLSupport.cString("group"), OpenSSLSupport.cString("prime256v1"), 0) == 1,
                OSSL_PARAM_BLD_push_octet_string(builder, OpenSSLSupport.cString("pub"), raw.baseAddress, raw.count)
                    == 1,
                let params = OSSL_PARAM_BLD_to_param(builder)
            else { throw OpenSSLSupport.error(.internalFailure, "cannot build EC parameters") }
            defer { OSSL_PARAM_free(params) }
            return try fromData(algorithm: "EC", params: params)
        }
        // Importing does not prove the point is on the curve; an off-curve point must not become a key.
        guard let check = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            EVP_PKEY_free(pkey)
            throw OpenSSLSupport.error(.internalFailure, "no key context")
        }
        defer { EVP_PKEY_CTX_free(check) }
        guard EVP_PKEY_public_check(check) == 1 else {
            EVP_PKEY_free(pkey)
            throw OpenSSLSupport.error(.invalidJWK, "EC point is not on P-256")
        }
        return pkey
    }

    private static func rsaPublicKey(n: [UInt8], e: [UInt8]) throws -> OpaquePointer {
        guard let builder = OSSL_PARAM_BLD_new() else {
            throw OpenSSLSupport.error(.internalFailure, "no param builder")
        }
        defer { OSSL_PARAM_BLD_free(builder) }
        let modulus = try OpenSSLSupport.bignum(n)
        defer { BN_free(modulus) }
        let exponent = try OpenSSLSupport.bignum(e)
        defer { BN_free(exponent) }
        guard
            OSSL_PARAM_BLD_push_BN(builder, OpenSSLSupport.cString("n"), modulus) == 1,
            OSSL_PARAM_BLD_push_BN(builder, OpenSSLSupport.cString("e"), exponent) == 1,
            let params = OSSL_PARAM_BLD_to_param(builder)
        else { throw OpenSSLSupport.error(.internalFailure, "cannot build RSA parameters") }
        defer { OSSL_PARAM_free(params) }
        return try fromData(algorithm: "RSA", params: params)
    }

    private static func fromData(algorithm: StaticString, params: UnsafeMutablePointer<OSSL_PARAM>) throws
        -> OpaquePointer
    {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, OpenSSLSupport.cString(algorithm), nil) else {
            throw OpenSSLSupport.error(.internalFailure, "no key context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
            EVP_PKEY_fromdata(context, &pkey, ccrypto_selection_public_key(), params) == 1, let pkey
        else { throw OpenSSLSupport.error(.invalidJWK, "OpenSSL refused the key parameters") }
        return pkey
    }
}

/// Converts ECDSA P-256 signatures between DER `ECDSA-Sig-Value` (OpenSSL) and raw `r || s` (JWS).
enum ECDSASignatureFormat {
    static func raw(fromDER der: [UInt8]) throws -> [UInt8] {
        let signature = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature else { throw OpenSSLSupport.error(.signingFailed, "unreadable ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        guard let r, let s else { throw OpenSSLSupport.error(.signingFailed, "ECDSA signature without r or s") }
        var output = [UInt8](repeating: 0, count: 64)
        let written = output.withUnsafeMutableBufferPointer { buffer in
            (BN_bn2binpad(r, buffer.baseAddress, 32), BN_bn2binpad(s, buffer.baseAddress! + 32, 32))
        }
        guard written.0 == 32, written.1 == 32 else { throw OpenSSLSupport.error(.signingFailed, "r or s too large") }
        return output
    }

    static func der(fromRaw raw: [UInt8]) throws -> [UInt8] {
        guard raw.count == 64 else { throw CryptoError(.invalidArgument, reason: "ES256 signatures are 64 bytes") }
        let r = try OpenSSLSupport.bignum(Array(raw[0..<32]))
        let s: OpaquePointer
        do { s = try OpenSSLSupport.bignum(Array(raw[32..<64])) } catch {
            BN_free(r)
            throw error
        }
        guard let signature = ECDSA_SIG_new() else {
            BN_free(r)
            BN_free(s)
            throw OpenSSLSupport.error(.internalFailure, "ECDSA_SIG_new failed")
        }
        defer { ECDSA_SIG_free(signature) }
        // set0 takes ownership of r and s only when it succeeds.
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw OpenSSLSupport.error(.internalFailure, "ECDSA_SIG_set0 failed")
        }
        return try OpenSSLSupport.derEncode("ECDSA signature") { i2d_ECDSA_SIG(signature, $0) }
    }
}
