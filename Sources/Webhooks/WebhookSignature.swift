import CryptoCore

/// The `X-Portcullis-Signature` header: `sha256=` and the lowercase hex HMAC-SHA256 of the exact body bytes,
/// keyed with the UTF-8 bytes of the webhook's secret as it was shown at creation (GitHub's convention).
///
/// A receiver recomputes the HMAC over the raw body it received (before any JSON parsing) and compares
/// in constant time; `verify` does exactly that and serves receivers written in Swift and the tests.
public enum WebhookSignature {
    /// The header carrying the signature.
    public static let headerName = "X-Portcullis-Signature"
    /// The header carrying the delivery id (the same for every attempt of one delivery).
    public static let deliveryHeaderName = "X-Portcullis-Delivery"
    /// The header carrying the event type (`push`, `delete`).
    public static let eventHeaderName = "X-Portcullis-Event"

    /// The header value for `body` signed with `secret`.
    public static func header(for body: some Collection<UInt8>, secret: String) -> String {
        "sha256=" + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: body))
    }

    /// Whether `header` is the signature of `body` under `secret`; compared in constant time.
    public static func verify(header: String?, body: some Collection<UInt8>, secret: String) -> Bool {
        guard let header else { return false }
        return ConstantTime.equals(header, self.header(for: body, secret: secret))
    }
}

/// Makes webhook secrets.
public enum WebhookSecret {
    /// A fresh secret: 32 random bytes as 64 lowercase hex characters (the HMAC key is this text's UTF-8).
    public static func generate() -> String { Hex.encode(SecureRandom.bytes(count: 32)) }
}
