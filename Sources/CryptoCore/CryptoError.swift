import Diagnostics

/// A failure of a CryptoCore operation: a stable code to branch on, plus details for logs.
///
/// Two errors are equal when their codes are equal, so tests and callers can write
/// `#expect(throws: CryptoError.invalidPEM)` or `catch let error as CryptoError where error == .weakKey`.
/// No error ever carries key material, passwords or hashes.
public struct CryptoError: CodedError, Sendable {
    /// The stable, machine-readable kind of failure.
    public enum Code: String, Sendable, CaseIterable {
        /// The input was not PEM of the expected kind (or was encrypted).
        case invalidPEM = "crypto.invalid_pem"
        /// The input was not valid DER of the expected structure.
        case invalidDER = "crypto.invalid_der"
        /// A JSON Web Key was malformed or described an unsupported key.
        case invalidJWK = "crypto.invalid_jwk"
        /// The key type or curve is not one CryptoCore supports (EC P-256 and RSA only).
        case unsupportedKey = "crypto.unsupported_key"
        /// An RSA key is shorter than 2048 bits.
        case weakKey = "crypto.weak_key"
        /// The signing algorithm does not fit the key (ES256 needs EC P-256, RS256 needs RSA).
        case algorithmMismatch = "crypto.algorithm_mismatch"
        /// An argument was out of range (a bcrypt cost, a certificate validity, a SAN entry).
        case invalidArgument = "crypto.invalid_argument"
        /// Key generation failed inside OpenSSL.
        case keyGenerationFailed = "crypto.keygen_failed"
        /// Signing failed inside OpenSSL.
        case signingFailed = "crypto.signing_failed"
        /// Building, signing or encoding a certificate failed.
        case certificateFailed = "crypto.certificate_failed"
        /// A password is too long for the chosen method (bcrypt stops at 72 bytes).
        case passwordTooLong = "crypto.password_too_long"
        /// A password contains a NUL byte, which the C hashing API would silently cut at.
        case passwordContainsNUL = "crypto.password_contains_nul"
        /// libxcrypt could not produce a salt or a hash.
        case hashingFailed = "crypto.hashing_failed"
        /// A sealed value did not open: the key is wrong, or the value or its associated data were changed.
        case decryptionFailed = "crypto.decryption_failed"
        /// A sealed value is too short (or not the encoding) to hold a nonce and a tag.
        case malformedCiphertext = "crypto.malformed_ciphertext"
        /// Any other OpenSSL failure (an encoding step, an allocation).
        case internalFailure = "crypto.internal"
    }

    /// The stable kind of failure.
    public let code: Code
    /// A human-readable explanation for logs.
    public let reason: String
    /// The drained OpenSSL error queue (`ERR_error_string_n` lines), if OpenSSL reported anything.
    public let openSSLErrors: [String]

    /// Creates an error with a code, a reason for logs and optionally OpenSSL's error strings.
    public init(_ code: Code, reason: String = "", openSSLErrors: [String] = []) {
        self.code = code
        self.reason = reason
        self.openSSLErrors = openSSLErrors
    }

    /// The log line: code, reason and OpenSSL's messages.
    public var description: String {
        var text = code.rawValue
        if !reason.isEmpty { text += ": \(reason)" }
        if !openSSLErrors.isEmpty { text += " [openssl: \(openSSLErrors.joined(separator: "; "))]" }
        return text
    }

    /// An error with code `.invalidPEM`, for matching.
    public static let invalidPEM = CryptoError(.invalidPEM)
    /// An error with code `.invalidDER`, for matching.
    public static let invalidDER = CryptoError(.invalidDER)
    /// An error with code `.invalidJWK`, for matching.
    public static let invalidJWK = CryptoError(.invalidJWK)
    /// An error with code `.unsupportedKey`, for matching.
    public static let unsupportedKey = CryptoError(.unsupportedKey)
    /// An error with code `.weakKey`, for matching.
    public static let weakKey = CryptoError(.weakKey)
    /// An error with code `.algorithmMismatch`, for matching.
    public static let algorithmMismatch = CryptoError(.algorithmMismatch)
    /// An error with code `.invalidArgument`, for matching.
    public static let invalidArgument = CryptoError(.invalidArgument)
    /// An error with code `.keyGenerationFailed`, for matching.
    public static let keyGenerationFailed = CryptoError(.keyGenerationFailed)
    /// An error with code `.signingFailed`, for matching.
    public static let signingFailed = CryptoError(.signingFailed)
    /// An error with code `.certificateFailed`, for matching.
    public static let certificateFailed = CryptoError(.certificateFailed)
    /// An error with code `.passwordTooLong`, for matching.
    public static let passwordTooLong = CryptoError(.passwordTooLong)
    /// An error with code `.passwordContainsNUL`, for matching.
    public static let passwordContainsNUL = CryptoError(.passwordContainsNUL)
    /// An error with code `.hashingFailed`, for matching.
    public static let hashingFailed = CryptoError(.hashingFailed)
    /// An error with code `.decryptionFailed`, for matching.
    public static let decryptionFailed = CryptoError(.decryptionFailed)
    /// An error with code `.malformedCiphertext`, for matching.
    public static let malformedCiphertext = CryptoError(.malformedCiphertext)
    /// An error with code `.internalFailure`, for matching.
    public static let internalFailure = CryptoError(.internalFailure)
}
