import CryptoCore

/// A JSON Web Key (RFC 7517) limited to the public EC P-256 and RSA members CryptoCore understands.
///
/// Encodes and decodes with `JSONEncoder`/`JSONDecoder`; absent members are omitted. Private members
/// (such as `d`) are never read or written.
public struct JWK: Codable, Sendable, Hashable {
    /// The key type: "EC" or "RSA".
    public var kty: String
    /// The curve of an EC key ("P-256").
    public var crv: String?
    /// The base64url x coordinate of an EC key (32 bytes for P-256).
    public var x: String?
    /// The base64url y coordinate of an EC key (32 bytes for P-256).
    public var y: String?
    /// The base64url RSA modulus, without leading zero bytes.
    public var n: String?
    /// The base64url RSA public exponent.
    public var e: String?
    /// The key id, if the publisher gave one.
    public var kid: String?
    /// The intended use ("sig"), if given.
    public var use: String?
    /// The algorithm ("ES256", "RS256"), if given.
    public var alg: String?

    /// Creates a JWK from its members.
    public init(
        kty: String, crv: String? = nil, x: String? = nil, y: String? = nil, n: String? = nil, e: String? = nil,
        kid: String? = nil, use: String? = nil, alg: String? = nil
    ) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.y = y
        self.n = n
        self.e = e
        self.kid = kid
        self.use = use
        self.alg = alg
    }

    /// The RFC 7638 canonical JSON of the required members, in lexicographic order, without whitespace.
    ///
    /// Member values are base64url or fixed names, so they never need JSON escaping.
    var thumbprintInput: [UInt8] {
        let json: String
        if kty == "EC" {
            json = #"{"crv":"\#(crv ?? "")","kty":"EC","x":"\#(x ?? "")","y":"\#(y ?? "")"}"#
        } else {
            json = #"{"e":"\#(e ?? "")","kty":"RSA","n":"\#(n ?? "")"}"#
        }
        return Array(json.utf8)
    }
}

extension PublicKey {
    /// Builds a key from a JWK: `kty` "EC" with `crv` "P-256", `x`, `y`, or `kty` "RSA" with `n`, `e`.
    ///
    /// - Throws: `CryptoError.invalidJWK` for missing or non-base64url members or an off-curve point,
    ///   `.unsupportedKey` for another `kty` or curve, `.weakKey` for RSA under 2048 bits.
    public convenience init(jwk: JWK) throws {
        switch jwk.kty {
        case "EC":
            guard jwk.crv == "P-256" else { throw CryptoError(.unsupportedKey, reason: "EC JWK curve must be P-256") }
            guard let x = jwk.x.flatMap(Base64URL.decode), let y = jwk.y.flatMap(Base64URL.decode),
                x.count == 32, y.count == 32
            else { throw CryptoError(.invalidJWK, reason: "EC JWK needs 32-byte base64url x and y") }
            try self.init(components: .ecP256(x: x, y: y))
        case "RSA":
            guard let n = jwk.n.flatMap(Base64URL.decode), let e = jwk.e.flatMap(Base64URL.decode) else {
                throw CryptoError(.invalidJWK, reason: "RSA JWK needs base64url n and e")
            }
            try self.init(components: .rsa(modulus: n, exponent: e))
        default:
            throw CryptoError(.unsupportedKey, reason: "JWK kty must be EC or RSA")
        }
    }

    /// The key as a JWK with only its public members (`kty`, `crv`, `x`, `y` or `kty`, `n`, `e`).
    public func jwk() -> JWK {
        switch components {
        case .ecP256(let x, let y):
            return JWK(kty: "EC", crv: "P-256", x: Base64URL.encode(x), y: Base64URL.encode(y))
        case .rsa(let modulus, let exponent):
            return JWK(kty: "RSA", n: Base64URL.encode(modulus), e: Base64URL.encode(exponent))
        }
    }

    /// The RFC 7638 JWK thumbprint: base64url of the SHA-256 of the canonical required members.
    public func jwkThumbprint() -> String { Base64URL.encode(Digest.sha256(jwk().thumbprintInput)) }
}
