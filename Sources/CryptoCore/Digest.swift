import COpenSSL

/// One-shot message digests (SHA-2 family).
public enum Digest {
    /// SHA-256, fetched from the default provider once: passing `EVP_sha256()` makes OpenSSL 3 look the
    /// algorithm up by name on every call, which cost more than hashing a token.
    nonisolated(unsafe) static let sha256Algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256()

    /// The SHA-256 digest (32 bytes) of `message`.
    public static func sha256(_ message: some Collection<UInt8>) -> [UInt8] { digest(message, sha256Algorithm) }
    /// The SHA-384 digest (48 bytes) of `message`.
    public static func sha384(_ message: some Collection<UInt8>) -> [UInt8] { digest(message, EVP_sha384()) }
    /// The SHA-512 digest (64 bytes) of `message`.
    public static func sha512(_ message: some Collection<UInt8>) -> [UInt8] { digest(message, EVP_sha512()) }

    /// The SHA-256 digest of the UTF-8 bytes of `text`.
    public static func sha256(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { sha256($0) }
    }

    private static func digest(_ message: some Collection<UInt8>, _ md: OpaquePointer?) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        func run(_ source: UnsafeRawBufferPointer) -> Int32 {
            output.withUnsafeMutableBufferPointer {
                EVP_Digest(source.baseAddress, source.count, $0.baseAddress, &length, md, nil)
            }
        }
        let ok =
            message.withContiguousStorageIfAvailable { run(UnsafeRawBufferPointer($0)) }
            ?? Array(message).withUnsafeBytes(run)
        // EVP_Digest on a built-in algorithm only fails when memory runs out.
        guard ok == 1 else { fatalError("EVP_Digest failed: \(OpenSSLSupport.drainErrors())") }
        return Array(output.prefix(Int(length)))
    }
}

/// SHA-256 over data given in pieces (a table's rows, one after another), without holding them all.
public final class SHA256Hasher {
    private let context: OpaquePointer

    /// An empty hash; stops the process if OpenSSL cannot make one (it only fails when memory runs out).
    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, Digest.sha256Algorithm, nil) == 1 else {
            fatalError("SHA-256 unavailable: \(OpenSSLSupport.drainErrors())")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `bytes` to what is hashed.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            fatalError("EVP_DigestUpdate failed: \(OpenSSLSupport.drainErrors())")
        }
    }

    /// Adds the UTF-8 bytes of `text`.
    public func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest (32 bytes) of everything added; the hasher is spent afterwards.
    public func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = output.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        guard ok == 1, length == 32 else { fatalError("EVP_DigestFinal_ex failed: \(OpenSSLSupport.drainErrors())") }
        return output
    }
}

/// One-shot keyed message authentication codes.
public enum HMAC {
    /// The HMAC-SHA256 (32 bytes) of `message` under `key`.
    public static func sha256(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let keyBytes = Array(key)
        let input = Array(message)
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = keyBytes.withUnsafeBytes { keyPointer in
            input.withUnsafeBytes { messagePointer in
                output.withUnsafeMutableBufferPointer {
                    COpenSSL.HMAC(
                        Digest.sha256Algorithm, keyPointer.baseAddress, Int32(keyPointer.count),
                        messagePointer.baseAddress,
                        messagePointer.count, $0.baseAddress, &length)
                }
            }
        }
        guard result != nil else { fatalError("HMAC failed: \(OpenSSLSupport.drainErrors())") }
        return Array(output.prefix(Int(length)))
    }
}

/// Bytes from OpenSSL's cryptographically secure generator.
public enum SecureRandom {
    /// `count` random bytes; stops the process if the system RNG fails, since nothing secure can continue.
    public static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max), "random byte count out of range")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let ok = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { fatalError("RAND_bytes failed: \(OpenSSLSupport.drainErrors())") }
        return output
    }
}

/// Comparisons whose running time does not depend on where inputs differ.
public enum ConstantTime {
    /// Whether `lhs` and `rhs` hold the same bytes; only their lengths may leak through timing.
    public static func equals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        let left = Array(lhs)
        let right = Array(rhs)
        guard left.count == right.count else { return false }
        guard !left.isEmpty else { return true }
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }

    /// Whether two strings have the same UTF-8 bytes, compared in constant time.
    public static func equals(_ lhs: String, _ rhs: String) -> Bool { equals(Array(lhs.utf8), Array(rhs.utf8)) }
}

/// HMAC-SHA256 under one fixed key, for codes computed on hot paths (a cache key per login).
///
/// The key is set up once in a template context that each call copies: the one-shot `HMAC` fetches the
/// algorithm by name and schedules the key every time, which cost more than the rest of a cached login.
/// Thread-safe: the template is only read after `init`.
public final class KeyedHMAC: @unchecked Sendable {
    /// The keyed `EVP_MAC_CTX`, never updated itself.
    private let template: OpaquePointer

    /// Prepares HMAC-SHA256 under `key`; stops the process if OpenSSL cannot (nothing secure can continue).
    public init(key: [UInt8]) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            fatalError("HMAC unavailable: \(OpenSSLSupport.drainErrors())")
        }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { fatalError("no HMAC context") }
        let initialised = "SHA256".withCString { digestName in
            "digest".withCString { parameterName in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(parameterName, UnsafeMutablePointer(mutating: digestName), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBufferPointer {
                    EVP_MAC_init(context, $0.baseAddress, $0.count, &parameters)
                }
            }
        }
        guard initialised == 1 else { fatalError("HMAC init failed: \(OpenSSLSupport.drainErrors())") }
        template = context
    }

    deinit { EVP_MAC_CTX_free(template) }

    /// The 32-byte HMAC-SHA256 of `message`.
    public func code(for message: [UInt8]) -> [UInt8] {
        guard let context = EVP_MAC_CTX_dup(template) else { fatalError("HMAC context copy failed") }
        defer { EVP_MAC_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ok = message.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                EVP_MAC_update(context, input.baseAddress, input.count) == 1
                    && EVP_MAC_final(context, out.baseAddress, &length, out.count) == 1
            }
        }
        guard ok, length == 32 else { fatalError("HMAC failed: \(OpenSSLSupport.drainErrors())") }
        return output
    }
}
