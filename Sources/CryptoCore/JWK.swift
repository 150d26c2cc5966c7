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
