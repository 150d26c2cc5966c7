import CryptoCore
import Diagnostics
import Foundation
import JSONScanning

/// A failure to sign, parse or verify a JSON Web Token: a stable code to branch on, plus details for logs.
///
/// Two errors are equal when their codes are equal, so tests can write `#expect(throws: JWTError.expired)`.
/// No error ever carries the token itself, a signature or key material.
public struct JWTError: CodedError, Sendable {
    /// The stable, machine-readable kind of failure.
    public enum Code: String, Sendable, CaseIterable {
        /// The text is not a compact JWS of three strict base64url parts holding JSON objects.
        case malformed = "jwt.malformed"
        /// The text is longer than the accepted maximum.
        case tooLarge = "jwt.too_large"
        /// The `alg` is `none`, an HMAC algorithm, unknown, or not among the allowed ones.
        case disallowedAlgorithm = "jwt.disallowed_algorithm"
        /// The `alg` does not fit the type of the key that would verify it (algorithm confusion).
        case algorithmKeyMismatch = "jwt.algorithm_key_mismatch"
        /// The header lists `crit` extensions, none of which this verifier understands (RFC 7515 §4.1.11).
        case unsupportedCriticalHeader = "jwt.unsupported_crit"
        /// Several keys could verify the token and its header names none (`kid` missing).
        case missingKeyID = "jwt.missing_kid"
        /// No trusted key has the token's `kid`.
        case unknownKey = "jwt.unknown_key"
        /// The signature does not verify with the selected key.
        case invalidSignature = "jwt.invalid_signature"
        /// The token has no `exp` claim although one is required.
        case missingExpiry = "jwt.missing_exp"
        /// The `exp` claim (plus leeway) lies in the past.
        case expired = "jwt.expired"
        /// The `nbf` claim (minus leeway) lies in the future.
        case notYetValid = "jwt.not_yet_valid"
        /// Signing the token failed.
        case signingFailed = "jwt.signing_failed"
    }

    /// The stable kind of failure.
    public let code: Code
    /// A human-readable explanation for logs (never the token or a signature).
    public let reason: String

    /// Creates an error with a code and a reason for logs.
    public init(_ code: Code, reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// An error with code `.malformed`, for matching.
    public static let malformed = JWTError(.malformed)
    /// An error with code `.tooLarge`, for matching.
    public static let tooLarge = JWTError(.tooLarge)
    /// An error with code `.disallowedAlgorithm`, for matching.
    public static let disallowedAlgorithm = JWTError(.disallowedAlgorithm)
    /// An error with code `.algorithmKeyMismatch`, for matching.
    public static let algorithmKeyMismatch = JWTError(.algorithmKeyMismatch)
    /// An error with code `.unsupportedCriticalHeader`, for matching.
    public static let unsupportedCriticalHeader = JWTError(.unsupportedCriticalHeader)
    /// An error with code `.missingKeyID`, for matching.
    public static let missingKeyID = JWTError(.missingKeyID)
    /// An error with code `.unknownKey`, for matching.
    public static let unknownKey = JWTError(.unknownKey)
    /// An error with code `.invalidSignature`, for matching.
    public static let invalidSignature = JWTError(.invalidSignature)
    /// An error with code `.missingExpiry`, for matching.
    public static let missingExpiry = JWTError(.missingExpiry)
    /// An error with code `.expired`, for matching.
    public static let expired = JWTError(.expired)
    /// An error with code `.notYetValid`, for matching.
    public static let notYetValid = JWTError(.notYetValid)
    /// An error with code `.signingFailed`, for matching.
    public static let signingFailed = JWTError(.signingFailed)
}

/// Creates compact JWS tokens (RFC 7515) in the form Docker registries accept.
public enum JWT {
    /// Signs `claimsJSON` (the UTF-8 JSON object of the payload, used byte for byte) and returns the
    /// compact serialisation `header.payload.signature`.
    ///
    /// The header is `{"alg","typ":"JWT","kid"?,"x5c"?}`; `x5c` holds each certificate as standard
    /// (not URL-safe) base64 DER, leaf first, which registry 2.x checks before anything else. ES256
    /// signatures are raw `r || s`, the only form registries accept.
    ///
    /// - Throws: `JWTError.signingFailed` when the algorithm does not fit the key or OpenSSL fails.
    public static func sign(
        claimsJSON: [UInt8], key: PrivateKey, algorithm: SigningAlgorithm, keyID: String?,
        certificateChain: [Certificate] = []
    ) throws -> String {
        try sign(
            claimsJSON: claimsJSON,
            encodedHeader: encodedHeader(
                algorithm: algorithm, keyID: keyID,
                certificateChain: certificateChain),
            key: key, algorithm: algorithm)
    }

    /// The base64url protected header `{"alg","typ":"JWT","kid","x5c"}`; a signing key computes it once,
    /// since it is the same for every token it signs.
    public static func encodedHeader(algorithm: SigningAlgorithm, keyID: String?, certificateChain: [Certificate])
        -> String
    {
        var header = #"{"alg":"\#(algorithm.rawValue)","typ":"JWT""#
        if let keyID { header += #","kid":"# + JSONText.quoted(keyID) }
        if !certificateChain.isEmpty {
            let encoded = certificateChain.map { "\"" + Data($0.derEncoded).base64EncodedString() + "\"" }
            header += #","x5c":["# + encoded.joined(separator: ",") + "]"
        }
        header += "}"
        return Base64URL.encode(Array(header.utf8))
    }

    /// Signs `claimsJSON` under an already encoded header (from `encodedHeader`).
    public static func sign(
        claimsJSON: [UInt8], encodedHeader: String, key: PrivateKey, algorithm: SigningAlgorithm
    ) throws -> String {
        let signingInput = encodedHeader + "." + Base64URL.encode(claimsJSON)
        let signature: [UInt8]
        do {
            signature = try key.sign(Array(signingInput.utf8), algorithm: algorithm)
        } catch {
            throw JWTError(.signingFailed, reason: "\(error)")
        }
        return signingInput + "." + Base64URL.encode(signature)
    }
}

/// The protected header of a JWS, as decoded (nothing in it is trusted before verification).
public struct JOSEHeader: Sendable, Hashable {
    /// The `alg` member exactly as written (`ES256`, `RS256`, or something refused later).
    public var algorithm: String
    /// The `typ` member, if any (not checked).
    public var type: String?
    /// The `kid` member, if any.
    public var keyID: String?
    /// The DER certificates of the `x5c` member, leaf first; empty when absent.
    ///
    /// Verification never takes a key from here: trust comes only from the caller's keys.
    public var certificateChain: [[UInt8]]
}

/// The registered claims of a JWT (RFC 7519 §4.1), decoded with strict types, plus the raw payload.
public struct JWTClaims: Sendable, Hashable {
    /// `iss`, if present.
    public var issuer: String?
    /// `sub`, if present.
    public var subject: String?
    /// `aud`, given as one string or an array of strings; empty when absent.
    public var audience: [String]
    /// `exp` as a date, if present.
    public var expiresAt: Date?
    /// `nbf` as a date, if present.
    public var notBefore: Date?
    /// `iat` as a date, if present.
    public var issuedAt: Date?
    /// `jti`, if present.
    public var tokenID: String?
    /// The payload's UTF-8 JSON object, byte for byte, for decoding private claims.
    public var json: [UInt8]
    /// The payload's members, scanned once at parsing (private claims read from here cost no second parse).
    public var members: [String: JSONMember]

    /// Decodes the payload into `type` (for private claims such as `access`, `email` or `groups`).
    ///
    /// - Throws: `JWTError.malformed` when the payload does not fit `type`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json))
        } catch {
            throw JWTError(.malformed, reason: "claims do not decode as \(T.self)")
        }
    }
}

/// A JWT whose signature and dates have been checked against a trusted key.
public struct VerifiedJWT: Sendable, Hashable {
    /// The protected header.
    public var header: JOSEHeader
    /// The verified claims.
    public var claims: JWTClaims
    /// The algorithm that verified it.
    public var algorithm: SigningAlgorithm

    /// Checks the token's dates at `now`: `exp` present when `requireExpiry` and `now < exp + leeway`;
    /// `now >= nbf - leeway` when `nbf` is present. `verify` runs it after the signature; a caller that
    /// remembers a verified token runs it again at each later use.
    ///
    /// - Throws: `JWTError` `.expired`, `.missingExpiry` or `.notYetValid`.
    public func checkTimes(at now: Date, leeway: Duration = .seconds(60), requireExpiry: Bool = true) throws {
        let slack = TimeInterval(leeway.components.seconds)
        if let expiresAt = claims.expiresAt {
            guard now < expiresAt.addingTimeInterval(slack) else {
                throw JWTError(.expired, reason: "expired at \(expiresAt)")
            }
        } else if requireExpiry {
            throw JWTError(.missingExpiry, reason: "the token has no exp claim")
        }
        if let notBefore = claims.notBefore, now < notBefore.addingTimeInterval(-slack) {
            throw JWTError(.notYetValid, reason: "not valid before \(notBefore)")
        }
    }
}

/// A compact JWS parsed strictly but not yet trusted; `verify` turns it into a `VerifiedJWT`.
///
/// Parsing refuses anything but exactly three dot-separated parts of canonical, unpadded base64url,
/// a header and a payload that are JSON objects with correctly typed registered members, and text
/// over `maximumLength` bytes, so hostile input costs little and never crashes.
public struct UnverifiedJWT: Sendable, Hashable {
    /// The default size cap in bytes: far above any token Portcullis or an OpenID provider issues.
    public static let defaultMaximumLength = 16 * 1024

    /// The decoded header (untrusted).
    public let header: JOSEHeader
    /// The decoded claims (untrusted until verified: use them only to choose keys, never to decide).
    public let unverifiedClaims: JWTClaims
    private let signingInput: [UInt8]
    private let signature: [UInt8]

    /// Parses a compact JWS.
    ///
    /// - Throws: `JWTError.tooLarge` above `maximumLength` bytes, `.malformed` for anything that is
    ///   not three strict base64url parts with JSON object header and payload (registered claims
    ///   of the wrong JSON type included), `.unsupportedCriticalHeader` when the header has `crit`.
    public init(compact: String, maximumLength: Int = UnverifiedJWT.defaultMaximumLength) throws {
        let bytes = Array(compact.utf8)
        guard bytes.count <= maximumLength else {
            throw JWTError(.tooLarge, reason: "token of \(bytes.count) bytes exceeds \(maximumLength)")
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw JWTError(.malformed, reason: "expected 3 dot-separated parts, found \(parts.count)")
        }
        guard let headerJSON = Self.strictBase64URL(parts[0]), !headerJSON.isEmpty,
            let payloadJSON = Self.strictBase64URL(parts[1]), !payloadJSON.isEmpty,
            let signature = Self.strictBase64URL(parts[2])
        else { throw JWTError(.malformed, reason: "a part is not canonical unpadded base64url") }

        guard let header = JSONObjectScanner.members(of: headerJSON), let algorithm = header["alg"]?.string,
            let type = Self.optionalString(header["typ"]), let keyID = Self.optionalString(header["kid"]),
            let certificates = Self.optionalStrings(header["x5c"])
        else {
            throw JWTError(.malformed, reason: "header is not a JSON object with a string alg and typed members")
        }
        guard header["crit"] == nil || header["crit"] == .null else {
            throw JWTError(.unsupportedCriticalHeader, reason: "critical header extensions are not supported")
        }
        var chain: [[UInt8]] = []
        for entry in certificates ?? [] {
            guard let der = Data(base64Encoded: entry), !der.isEmpty else {
                throw JWTError(.malformed, reason: "x5c entry is not standard base64")
            }
            chain.append([UInt8](der))
        }
        guard let members = JSONObjectScanner.members(of: payloadJSON),
            let issuer = Self.optionalString(members["iss"]), let subject = Self.optionalString(members["sub"]),
            let tokenID = Self.optionalString(members["jti"]), let audience = Self.audience(members["aud"]),
            let expiresAt = Self.optionalDate(members["exp"]), let notBefore = Self.optionalDate(members["nbf"]),
            let issuedAt = Self.optionalDate(members["iat"])
        else {
            throw JWTError(.malformed, reason: "payload is not a JSON object with correctly typed registered claims")
        }
        self.header = JOSEHeader(algorithm: algorithm, type: type, keyID: keyID, certificateChain: chain)
        self.unverifiedClaims = JWTClaims(
            issuer: issuer, subject: subject, audience: audience, expiresAt: expiresAt, notBefore: notBefore,
            issuedAt: issuedAt, tokenID: tokenID, json: payloadJSON, members: members)
        self.signingInput = Array(bytes[..<parts[1].endIndex])
        self.signature = signature
    }

    /// Verifies the token with the key named by its `kid` in `keys`.
    ///
    /// Without a `kid`, the only key is used when there is exactly one; otherwise `.missingKeyID`.
    /// See `verify(keyLookup:allowedAlgorithms:now:leeway:requireExpiry:)` for the checks and errors.
    public func verify(
        using keys: [String: PublicKey], allowedAlgorithms: Set<SigningAlgorithm>, now: Date,
        leeway: Duration = .seconds(60), requireExpiry: Bool = true
    ) throws -> VerifiedJWT {
        try verify(
            keyLookup: { keyID in
                guard let keyID else {
                    if keys.isEmpty { return nil }
                    guard keys.count == 1, let only = keys.first else {
                        throw JWTError(
                            .missingKeyID, reason: "the header has no kid and \(keys.count) keys are trusted")
                    }
                    return only.value
                }
                return keys[keyID]
            }, allowedAlgorithms: allowedAlgorithms, now: now, leeway: leeway, requireExpiry: requireExpiry)
    }

    /// Verifies the token with the key `keyLookup` returns for its `kid` (nil when the header has none).
    ///
    /// Checks, in order: `alg` is ES256, RS256 or PS256 and in `allowedAlgorithms` (so `none` and `HS*` are
    /// always refused); a key exists (`keyLookup` returning nil gives `.unknownKey`; it may throw
    /// `.missingKeyID` itself); `alg` fits the key's type; the signature verifies; `exp` is present
    /// when `requireExpiry` and `now < exp + leeway`; `now >= nbf - leeway` when `nbf` is present.
    /// Issuer and audience are the caller's to check on the result.
    ///
    /// - Throws: `JWTError` with the code of the first failed check; errors `keyLookup` throws pass through.
    public func verify(
        keyLookup: (_ keyID: String?) throws -> PublicKey?, allowedAlgorithms: Set<SigningAlgorithm>, now: Date,
        leeway: Duration = .seconds(60), requireExpiry: Bool = true
    ) throws -> VerifiedJWT {
        guard let algorithm = SigningAlgorithm(rawValue: header.algorithm), allowedAlgorithms.contains(algorithm)
        else {
            throw JWTError(.disallowedAlgorithm, reason: "alg \(Self.printable(header.algorithm)) is not accepted")
        }
        guard let key = try keyLookup(header.keyID) else {
            throw JWTError(.unknownKey, reason: "no trusted key for kid \(Self.printable(header.keyID ?? "(none)"))")
        }
        guard algorithm.fits(key.kind) else {
            throw JWTError(
                .algorithmKeyMismatch, reason: "\(algorithm.rawValue) cannot be verified with a \(key.kind) key")
        }
        guard key.verify(signature: signature, message: signingInput, algorithm: algorithm) else {
            throw JWTError(.invalidSignature, reason: "signature does not verify")
        }
        let verified = VerifiedJWT(header: header, claims: unverifiedClaims, algorithm: algorithm)
        try verified.checkTimes(at: now, leeway: leeway, requireExpiry: requireExpiry)
        return verified
    }

    /// Verifies the token with whichever of `candidates` verifies it: for issuers whose tokens carry no `kid`
    /// (or whose JWKS gives several keys one `kid`), each key whose type fits the token's `alg` is tried.
    ///
    /// The checks and errors are those of `verify(keyLookup:allowedAlgorithms:now:leeway:requireExpiry:)`;
    /// `.unknownKey` when no candidate fits the algorithm, `.invalidSignature` when none verifies. Dates are
    /// checked only after a signature verified, so an expired token with a bad signature reads as a forgery.
    public func verify(
        tryingEach candidates: [PublicKey], allowedAlgorithms: Set<SigningAlgorithm>, now: Date,
        leeway: Duration = .seconds(60), requireExpiry: Bool = true
    ) throws -> VerifiedJWT {
        guard let algorithm = SigningAlgorithm(rawValue: header.algorithm), allowedAlgorithms.contains(algorithm)
        else {
            throw JWTError(.disallowedAlgorithm, reason: "alg \(Self.printable(header.algorithm)) is not accepted")
        }
        let fitting = candidates.filter { algorithm.fits($0.kind) }
        guard !fitting.isEmpty else {
            throw JWTError(.unknownKey, reason: "no trusted key fits alg \(algorithm.rawValue)")
        }
        for key in fitting {
            do {
                return try verify(
                    keyLookup: { _ in key }, allowedAlgorithms: allowedAlgorithms, now: now, leeway: leeway,
                    requireExpiry: requireExpiry)
            } catch let error as JWTError where error.code == .invalidSignature {
                continue
            }
        }
        throw JWTError(.invalidSignature, reason: "signature does not verify with any of \(fitting.count) keys")
    }

    /// Decodes one part, refusing padding, foreign characters and non-zero trailing bits (so one token
    /// has exactly one spelling).
    private static func strictBase64URL(_ part: ArraySlice<UInt8>) -> [UInt8]? {
        Base64URL.decodeCanonical(part)
    }

    /// Header values go into log reasons; keep them short and printable.
    private static func printable(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
        return "\"\(cleaned)\""
    }

    // Registered members: absent or `null` is nil (as Codable's optionals read them); the wrong JSON type is
    // malformed. The double optionals below say "absent" (.some(nil)) apart from "wrong type" (nil).

    private static func optionalString(_ member: JSONMember?) -> String?? {
        switch member {
        case nil, .null?: .some(nil)
        case .string(let text)?: .some(text)
        default: nil
        }
    }

    private static func optionalStrings(_ member: JSONMember?) -> [String]?? {
        switch member {
        case nil, .null?: return .some(nil)
        case .array(let elements)?:
            let strings = elements.compactMap(\.string)
            return strings.count == elements.count ? .some(strings) : nil
        default: return nil
        }
    }

    /// `aud`: one string or an array of strings; empty when absent.
    private static func audience(_ member: JSONMember?) -> [String]? {
        if case .string(let one)? = member { return [one] }
        return optionalStrings(member).map { $0 ?? [] }
    }

    /// A NumericDate (seconds since 1970, fractions allowed); a number that is not finite is malformed.
    private static func optionalDate(_ member: JSONMember?) -> Date?? {
        switch member {
        case nil, .null?: return .some(nil)
        case .number(let text)?:
            guard let seconds = Double(text), seconds.isFinite else { return nil }
            return .some(Date(timeIntervalSince1970: seconds))
        default: return nil
        }
    }
}
