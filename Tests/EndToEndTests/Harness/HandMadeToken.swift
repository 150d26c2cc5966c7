import CryptoCore
import Foundation
import TestSupport

/// Signs a registry token in the test itself with a sandbox key, the way registry-protocol.md says
/// registry 2.8 wants it (x5c + libtrust kid, integer times, string aud). Used only to prove the
/// harness (registry config, bundle, skopeo invocation) independently of the token endpoint.
enum HandMadeToken {
    static func sign(
        keyFile: URL, certificateFile: URL, issuer: String, service: String, subject: String,
        access: [(type: String, name: String, actions: [String])]
    ) throws -> String {
        let key = try PrivateKey(pem: String(contentsOf: keyFile, encoding: .utf8))
        let certificate = try Certificate(pem: String(contentsOf: certificateFile, encoding: .utf8))
        let algorithm: SigningAlgorithm = SigningAlgorithm.es256.fits(key.kind) ? .es256 : .rs256
        let header: [String: Any] = [
            "alg": algorithm.rawValue, "typ": "JWT", "kid": certificate.publicKey.libtrustKeyID(),
            "x5c": [Data(certificate.derEncoded).base64EncodedString()],
        ]
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": UUID().uuidString,
            "access": access.map { ["type": $0.type, "name": $0.name, "actions": $0.actions] },
        ]
        let signingInput =
            Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) + "."
            + Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try key.sign(Array(signingInput.utf8), algorithm: algorithm)
        return signingInput + "." + Base64URL.encode(signature)
    }
}
