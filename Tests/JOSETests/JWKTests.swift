import CryptoCore
import Foundation
import JOSE
import TestSupport
import Testing

@Suite struct JWKTests {
    /// The RSA key of RFC 7638 §3.1.
    static let rfc7638Key = JWK(
        kty: "RSA",
        n:
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        e: "AQAB", kid: "2011-04-29", alg: "RS256")

    @Test func theRFC7638ExampleKeyHasTheRFCThumbprint() throws {
        let key = try PublicKey(jwk: Self.rfc7638Key)
        #expect(key.kind == .rsa(bits: 2048))
        #expect(key.jwkThumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(key.jwk().n == Self.rfc7638Key.n)
        #expect(key.jwk().e == "AQAB")
    }

    @Test(arguments: [KeyKind.ecP256, .rsa(bits: 2048)])
    func aKeyRebuiltFromItsJWKIsTheSameKeyAndVerifiesItsSignatures(kind: KeyKind) async throws {
        let rsa = await TestKeys.rsa()
        let key = kind == .ecP256 ? TestKeys.ec : rsa
        let algorithm: SigningAlgorithm = kind == .ecP256 ? .es256 : .rs256
        let jwk = key.publicKey.jwk()
        let json = try JSONEncoder().encode(jwk)
        let decoded = try JSONDecoder().decode(JWK.self, from: json)
        let rebuilt = try PublicKey(jwk: decoded)
        #expect(rebuilt.spkiDER == key.publicKey.spkiDER)
        #expect(rebuilt.jwkThumbprint() == key.publicKey.jwkThumbprint())
        let message = Array("payload".utf8)
        #expect(
            rebuilt.verify(
                signature: try key.sign(message, algorithm: algorithm), message: message, algorithm: algorithm))
        if kind == .ecP256 {
            #expect(jwk.kty == "EC" && jwk.crv == "P-256" && jwk.n == nil)
            #expect(Base64URL.decode(jwk.x ?? "")?.count == 32 && Base64URL.decode(jwk.y ?? "")?.count == 32)
        } else {
            #expect(jwk.kty == "RSA" && jwk.x == nil && jwk.e == "AQAB")
        }
    }

    @Test func malformedOrUnsupportedJWKsAreRefused() throws {
        let ec = TestKeys.ec.publicKey.jwk()
        var offCurve = ec
        offCurve.y = Base64URL.encode([UInt8](repeating: 7, count: 32))
        #expect(throws: CryptoError.invalidJWK) { try PublicKey(jwk: offCurve) }
        var shortX = ec
        shortX.x = Base64URL.encode([UInt8](repeating: 7, count: 31))
        #expect(throws: CryptoError.invalidJWK) { try PublicKey(jwk: shortX) }
        var p384 = ec
        p384.crv = "P-384"
        #expect(throws: CryptoError.unsupportedKey) { try PublicKey(jwk: p384) }
        #expect(throws: CryptoError.unsupportedKey) { try PublicKey(jwk: JWK(kty: "OKP", crv: "Ed25519", x: "AA")) }
        #expect(throws: CryptoError.invalidJWK) { try PublicKey(jwk: JWK(kty: "RSA", n: "!!", e: "AQAB")) }
        #expect(throws: CryptoError.weakKey) {
            try PublicKey(
                jwk: JWK(kty: "RSA", n: Base64URL.encode([0xc1] + [UInt8](repeating: 1, count: 127)), e: "AQAB"))
        }
    }
}
