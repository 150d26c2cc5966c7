import COpenSSL
import Foundation

/// A 256-bit key for `SecretBox` (AES-256-GCM). Its bytes never appear in `description`.
public struct AEADKey: Sendable, CustomStringConvertible {
    /// The key length in bytes.
    public static let byteCount = 32

    let bytes: [UInt8]

    /// Wraps exactly 32 key bytes.
    /// - Throws: `CryptoError.invalidArgument` for any other length.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw CryptoError(.invalidArgument, reason: "an AES-256 key is \(Self.byteCount) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Reads a key written as standard base64 of 32 bytes (`openssl rand -base64 32`), surrounding
    /// whitespace ignored.
    /// - Throws: `CryptoError.invalidArgument` when the text is not base64 or not 32 bytes (the message never
    ///   repeats the text).
    public init(base64 text: String) throws(CryptoError) {
        let trimmed = text.filter { !$0.isWhitespace }
        guard let bytes = Base64.decode(trimmed) else {
            throw CryptoError(.invalidArgument, reason: "the key is not base64 text")
        }
        try self.init(bytes: bytes)
    }

    /// A fresh key from OpenSSL's CSPRNG.
    public static func generate() -> AEADKey {
        // The length is right by construction.
        try! AEADKey(bytes: SecureRandom.bytes(count: byteCount))
    }

    /// The key as standard base64, the form `init(base64:)` reads: only for writing it to its key file.
    public var base64EncodedForKeyFile: String { Data(bytes).base64EncodedString() }

    /// Always `AEADKey(***)`.
    public var description: String { "AEADKey(***)" }
}

/// Authenticated encryption of small values with AES-256-GCM through OpenSSL.
///
/// `seal` draws a random 96-bit nonce for every value and returns `nonce ‖ ciphertext ‖ 128-bit tag`;
/// `associatedData` is authenticated but not stored, so a value sealed for one place (a row id and a column)
/// does not open anywhere else. A random nonce is safe for far more values than a database holds
/// (NIST SP 800-38D bounds one key to 2^32 random nonces). Stateless and safe to share between threads.
public struct SecretBox: Sendable {
    /// Bytes of the random nonce in front of every sealed value.
    public static let nonceLength = 12
    /// Bytes of the authentication tag at the end of every sealed value.
    public static let tagLength = 16

    private let key: AEADKey

    /// A box that seals and opens with `key`.
    public init(key: AEADKey) { self.key = key }

    /// Encrypts and authenticates `plaintext`, binding it to `associatedData`.
    /// - Throws: `CryptoError.internalFailure` only if OpenSSL fails (an allocation).
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        let nonce = SecureRandom.bytes(count: Self.nonceLength)
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        guard
            let ciphertext = try run(plaintext, nonce: nonce, associatedData: associatedData, tag: &tag, encrypt: true)
        else { throw OpenSSLSupport.error(.internalFailure, "AES-256-GCM encryption failed") }
        return nonce + ciphertext + tag
    }

    /// Checks and decrypts a value `seal` made with the same key and associated data.
    /// - Throws: `CryptoError.malformedCiphertext` when `sealed` is too short to hold a nonce and a tag;
    ///   `CryptoError.decryptionFailed` when the key is wrong or the value or its associated data were changed
    ///   (GCM cannot tell these apart, and nothing of the plaintext is returned).
    public func open(_ sealed: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= Self.nonceLength + Self.tagLength else {
            throw CryptoError(.malformedCiphertext, reason: "a sealed value is at least 28 bytes, not \(sealed.count)")
        }
        var tag = Array(sealed.suffix(Self.tagLength))
        guard
            let plaintext = try run(
                Array(sealed.dropFirst(Self.nonceLength).dropLast(Self.tagLength)),
                nonce: Array(sealed.prefix(Self.nonceLength)), associatedData: associatedData, tag: &tag,
                encrypt: false)
        else {
            OpenSSLSupport.clearErrors()
            throw CryptoError(.decryptionFailed, reason: "the key is wrong, or the value or its context was changed")
        }
        return plaintext
    }

    /// One AES-256-GCM pass over `input`: encrypting (then `tag` receives the tag) or decrypting (then `tag` is
    /// checked, in `EVP_CipherFinal_ex`). Nil when any step fails, a wrong tag included.
    private func run(
        _ input: [UInt8], nonce: [UInt8], associatedData: [UInt8], tag: inout [UInt8], encrypt: Bool
    ) throws(CryptoError) -> [UInt8]? {
        guard let context = EVP_CIPHER_CTX_new() else {
            throw OpenSSLSupport.error(.internalFailure, "EVP_CIPHER_CTX_new failed")
        }
        defer { EVP_CIPHER_CTX_free(context) }
        // GCM writes no more than it reads; the spare block keeps the final call's pointer inside the buffer.
        var output = [UInt8](repeating: 0, count: input.count + Self.tagLength)
        var written = 0
        var length: Int32 = 0
        let direction: Int32 = encrypt ? 1 : 0
        guard EVP_CipherInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil, direction) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1,
            EVP_CipherInit_ex(context, nil, nil, key.bytes, nonce, -1) == 1,
            associatedData.isEmpty
                || EVP_CipherUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1
        else { return nil }
        let processed = output.withUnsafeMutableBufferPointer { out -> Bool in
            if !input.isEmpty {
                guard EVP_CipherUpdate(context, out.baseAddress, &length, input, Int32(input.count)) == 1 else {
                    return false
                }
                written = Int(length)
            }
            if !encrypt {
                let tagSet = tag.withUnsafeMutableBufferPointer {
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), $0.baseAddress)
                }
                guard tagSet == 1 else { return false }
            }
            // Decrypting, the tag is checked here: a wrong key or any changed byte fails, and the output is dropped.
            guard EVP_CipherFinal_ex(context, out.baseAddress! + written, &length) == 1 else { return false }
            written += Int(length)
            return true
        }
        guard processed else { return nil }
        if encrypt {
            let tagRead = tag.withUnsafeMutableBufferPointer {
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagLength), $0.baseAddress)
            }
            guard tagRead == 1 else { return nil }
        }
        return Array(output.prefix(written))
    }
}
