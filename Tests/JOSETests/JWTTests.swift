import CryptoCore
import Foundation
import JOSE
import TestSupport
import Testing

@Suite struct JWTTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anES256TokenSignedHereVerifiesAndExposesItsClaims() throws {
        let key = TestKeys.ec
        let claims =
            #"{"iss":"portcullis","sub":"alice","aud":"registry","exp":1800000300,"nbf":1800000000,"iat":1800000000,"jti":"x"}"#
        let token = try JWT.sign(
            claimsJSON: Array(claims.utf8), key: key, algorithm: .es256, keyID: "k1")
        let verified = try UnverifiedJWT(compact: token).verify(
            using: ["k1": key.publicKey], allowedAlgorithms: [.es256, .rs256], now: now)
        #expect(verified.algorithm == .es256)
        #expect(verified.header.keyID == "k1")
        #expect(verified.header.type == "JWT")
        #expect(verified.claims.issuer == "portcullis")
        #expect(verified.claims.subject == "alice")
        #expect(verified.claims.audience == ["registry"])
        #expect(verified.claims.expiresAt == Date(timeIntervalSince1970: 1_800_000_300))
        #expect(verified.claims.notBefore == now)
        #expect(verified.claims.tokenID == "x")
        #expect(verified.claims.json == Array(claims.utf8))
    }

    @Test func anRS256TokenWithACertificateChainVerifies() async throws {
        let key = await TestKeys.rsa()
        let certificate = try Certificate.selfSigned(key: key, commonName: "signer", validity: .seconds(3600))
        let token = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000060,"aud":["a","b"]}"#.utf8), key: key, algorithm: .rs256,
            keyID: nil, certificateChain: [certificate])
        let parsed = try UnverifiedJWT(compact: token)
        #expect(parsed.header.certificateChain == [certificate.derEncoded])
        let verified = try parsed.verify(using: ["only": key.publicKey], allowedAlgorithms: [.rs256], now: now)
        #expect(verified.claims.audience == ["a", "b"])
    }

    @Test func aTokenWhosePayloadWasChangedIsRefused() throws {
        let token = try JWT.sign(
            claimsJSON: Array(#"{"sub":"alice","exp":1800000300}"#.utf8), key: TestKeys.ec,
            algorithm: .es256, keyID: "k1")
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Array(#"{"sub":"admin","exp":1800000300}"#.utf8))
        let forged = parts.joined(separator: ".")
        #expect(throws: JWTError.invalidSignature) {
            try UnverifiedJWT(compact: forged).verify(
                using: ["k1": TestKeys.ec.publicKey], allowedAlgorithms: [.es256], now: now)
        }
    }

    @Test func aTokenSignedByAnotherKeyIsRefused() throws {
        let stranger = try PrivateKey.generate(.ecP256)
        let token = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000300}"#.utf8), key: stranger, algorithm: .es256, keyID: "k1")
        #expect(throws: JWTError.invalidSignature) {
            try UnverifiedJWT(compact: token).verify(
                using: ["k1": TestKeys.ec.publicKey], allowedAlgorithms: [.es256], now: now)
        }
    }

    @Test(arguments: ["none", "None", "NONE", "HS256", "HS512", "PS384", "ES384", "EdDSA", ""])
    func algorithmsOtherThanES256RS256AndPS256AreRefused(alg: String) throws {
        let token = Craft.token(
            header: #"{"alg":"\#(alg)","kid":"k1"}"#, payload: #"{"exp":1800000300}"#, signature: [])
        #expect(throws: JWTError.disallowedAlgorithm) {
            try UnverifiedJWT(compact: token).verify(
                using: ["k1": TestKeys.ec.publicKey], allowedAlgorithms: Set(SigningAlgorithm.allCases), now: now)
        }
    }

    @Test func anHS256TokenKeyedWithThePublicKeyIsRefused() throws {
        // The classic confusion attack: HMAC keyed with the verifier's public key, which anyone knows.
        let secret = Array(TestKeys.ec.publicKey.pemEncoded().utf8)
        let signingInput = Craft.signingInput(
            header: #"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, payload: #"{"sub":"admin","exp":1800000300}"#)
        let token = signingInput + "." + Base64URL.encode(HMAC.sha256(key: secret, message: Array(signingInput.utf8)))
        #expect(throws: JWTError.disallowedAlgorithm) {
            try UnverifiedJWT(compact: token).verify(
                using: ["k1": TestKeys.ec.publicKey], allowedAlgorithms: Set(SigningAlgorithm.allCases), now: now)
        }
    }

    @Test func anRS256HeaderNamingAnECKeyIsRefusedAsAlgorithmConfusion() async throws {
        let rsa = await TestKeys.rsa()
        let header = #"{"alg":"RS256","kid":"ec"}"#
        let payload = #"{"exp":1800000300}"#
        let signingInput = Craft.signingInput(header: header, payload: payload)
        let signature = try rsa.sign(Array(signingInput.utf8), algorithm: .rs256)
        let token = signingInput + "." + Base64URL.encode(signature)
        let keys = ["ec": TestKeys.ec.publicKey, "rsa": rsa.publicKey]
        #expect(throws: JWTError.algorithmKeyMismatch) {
            try UnverifiedJWT(compact: token).verify(using: keys, allowedAlgorithms: [.es256, .rs256], now: now)
        }
        let ecSignedForRSA = Craft.signingInput(header: #"{"alg":"ES256","kid":"rsa"}"#, payload: payload)
        let ecToken =
            ecSignedForRSA + "." + Base64URL.encode(try TestKeys.ec.sign(Array(ecSignedForRSA.utf8), algorithm: .es256))
        #expect(throws: JWTError.algorithmKeyMismatch) {
            try UnverifiedJWT(compact: ecToken).verify(using: keys, allowedAlgorithms: [.es256, .rs256], now: now)
        }
    }

    @Test func anAlgorithmOutsideTheAllowedSetIsRefusedEvenWithAGoodSignature() throws {
        let token = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000300}"#.utf8), key: TestKeys.ec, algorithm: .es256, keyID: "k1")
        #expect(throws: JWTError.disallowedAlgorithm) {
            try UnverifiedJWT(compact: token).verify(
                using: ["k1": TestKeys.ec.publicKey], allowedAlgorithms: [.rs256], now: now)
        }
    }

    @Test func expiryIsEnforcedWithLeeway() throws {
        let token = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000000}"#.utf8), key: TestKeys.ec, algorithm: .es256, keyID: "k1")
        let parsed = try UnverifiedJWT(compact: token)
        let keys = ["k1": TestKeys.ec.publicKey]
        _ = try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now.addingTimeInterval(59))
        #expect(throws: JWTError.expired) {
            try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now.addingTimeInterval(60))
        }
        #expect(throws: JWTError.expired) {
            try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now, leeway: .zero)
        }
    }

    @Test func aNotBeforeInTheFutureIsRefused() throws {
        let token = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800009999,"nbf":1800000600}"#.utf8), key: TestKeys.ec, algorithm: .es256,
            keyID: "k1")
        let parsed = try UnverifiedJWT(compact: token)
        let keys = ["k1": TestKeys.ec.publicKey]
        #expect(throws: JWTError.notYetValid) { try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now) }
        _ = try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now.addingTimeInterval(540))
    }

    @Test func aMissingExpiryIsRefusedUnlessTheCallerWaivesIt() throws {
        let token = try JWT.sign(
            claimsJSON: Array(#"{"sub":"x"}"#.utf8), key: TestKeys.ec, algorithm: .es256, keyID: "k1")
        let parsed = try UnverifiedJWT(compact: token)
        let keys = ["k1": TestKeys.ec.publicKey]
        #expect(throws: JWTError.missingExpiry) {
            try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now)
        }
        _ = try parsed.verify(using: keys, allowedAlgorithms: [.es256], now: now, requireExpiry: false)
    }

    @Test func keySelectionNeedsAKeyIDWhenSeveralKeysAreTrusted() async throws {
        let rsa = await TestKeys.rsa()
        let anonymous = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000300}"#.utf8), key: TestKeys.ec, algorithm: .es256, keyID: nil)
        let parsed = try UnverifiedJWT(compact: anonymous)
        #expect(throws: JWTError.missingKeyID) {
            try parsed.verify(
                using: ["a": TestKeys.ec.publicKey, "b": rsa.publicKey], allowedAlgorithms: [.es256], now: now)
        }
        _ = try parsed.verify(using: ["a": TestKeys.ec.publicKey], allowedAlgorithms: [.es256], now: now)
        #expect(throws: JWTError.unknownKey) {
            try parsed.verify(using: [:], allowedAlgorithms: [.es256], now: now)
        }
        let named = try JWT.sign(
            claimsJSON: Array(#"{"exp":1800000300}"#.utf8), key: TestKeys.ec, algorithm: .es256, keyID: "zz")
        #expect(throws: JWTError.unknownKey) {
            try UnverifiedJWT(compact: named).verify(
                using: ["a": TestKeys.ec.publicKey], allowedAlgorithms: [.es256], now: now)
        }
        let viaLookup = try UnverifiedJWT(compact: named).verify(
            keyLookup: { $0 == "zz" ? TestKeys.ec.publicKey : nil }, allowedAlgorithms: [.es256], now: now)
        #expect(viaLookup.header.keyID == "zz")
    }

    @Test(arguments: [
        "", ".", "..", "a.b", "a.b.c.d", "abc", "e30.e30", "e30.e30.", "e30..", ".e30.",
        "e30=.e30.", "eyJhbGciOiJFUzI1NiJ9.e30.AA==", "eyJhbGciOiJFUzI1NiJ9 .e30.", "eyJhbGciOiJFUzI1NiJ9.e+0.",
        "eyJhbGciOiJFUzI1NiJ9.e30.A", "eyJhbGciOiJFUzI1NiJ9.e30.AB", "\u{0}.\u{0}.\u{0}",
    ])
    func garbageIsRefusedAsMalformed(text: String) {
        #expect(throws: JWTError.malformed) { try UnverifiedJWT(compact: text) }
    }

    @Test(arguments: [
        (#"[]"#, #"{}"#), (#""ES256""#, #"{}"#), (#"{}"#, #"{}"#), (#"{"alg":5}"#, #"{}"#),
        (#"{"alg":"ES256","kid":7}"#, #"{}"#), (#"{"alg":"ES256","x5c":"abc"}"#, #"{}"#),
        (#"{"alg":"ES256","x5c":["not base64!"]}"#, #"{}"#), (#"{"alg":"ES256"}"#, #"[]"#),
        (#"{"alg":"ES256"}"#, #""claims""#), (#"{"alg":"ES256"}"#, #"{"exp":"1800000000"}"#),
        (#"{"alg":"ES256"}"#, #"{"exp":true}"#), (#"{"alg":"ES256"}"#, #"{"aud":5}"#),
        (#"{"alg":"ES256"}"#, #"{"aud":["a",1]}"#), (#"{"alg":"ES256"}"#, #"{"sub":null,"iss":{}}"#),
        (#"{"alg":"ES256"}"#, #"{"nbf":1e999}"#), (#"{"alg":"ES256"}"#, #"{"#), ("not json", "{}"),
        // A member written twice could be read either way by two parsers: the whole part is refused.
        (#"{"alg":"ES256","alg":"none"}"#, #"{}"#), (#"{"alg":"ES256"}"#, #"{"sub":"a","sub":"b"}"#),
        (#"{"alg":"ES256"}"#, #"{"exp":1800000000} x"#), (#"{"alg":"ES256"}"#, #"{"exp":01}"#),
    ])
    func headersAndClaimsOfTheWrongShapeAreRefusedAsMalformed(header: String, payload: String) {
        #expect(throws: JWTError.malformed) {
            try UnverifiedJWT(compact: Craft.token(header: header, payload: payload, signature: [1]))
        }
    }

    @Test func nonCanonicalBase64TrailingBitsAreRefused() throws {
        // "e30" is "{}"; "e31" decodes to the same bytes with non-zero trailing bits.
        #expect(throws: JWTError.malformed) {
            try UnverifiedJWT(compact: Craft.b64(#"{"alg":"ES256"}"#) + ".e31.AA")
        }
        _ = try UnverifiedJWT(compact: Craft.b64(#"{"alg":"ES256"}"#) + ".e30.AA")
    }

    @Test func oversizedInputIsRefusedBeforeParsing() {
        let huge = String(repeating: "A", count: UnverifiedJWT.defaultMaximumLength + 1)
        #expect(throws: JWTError.tooLarge) { try UnverifiedJWT(compact: huge) }
        #expect(throws: JWTError.tooLarge) { try UnverifiedJWT(compact: "e30.e30.AA", maximumLength: 5) }
    }

    @Test func criticalHeaderExtensionsAreRefused() {
        #expect(throws: JWTError.unsupportedCriticalHeader) {
            try UnverifiedJWT(
                compact: Craft.token(header: #"{"alg":"ES256","crit":["exp"]}"#, payload: "{}", signature: [1]))
        }
    }

    @Test func randomBytesNeverCrashTheParser() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"".utf8)
        for _ in 0..<2000 {
            let length = Int(generator.next() % 120)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let parsed = try UnverifiedJWT(compact: text)
                _ = try? parsed.verify(using: ["k": TestKeys.ec.publicKey], allowedAlgorithms: [.es256], now: now)
            } catch let error as JWTError {
                #expect(error.code != .signingFailed)
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
    }
}

/// Builds hand-made tokens for negative tests.
enum Craft {
    static func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }
    static func signingInput(header: String, payload: String) -> String { b64(header) + "." + b64(payload) }
    static func token(header: String, payload: String, signature: [UInt8]) -> String {
        signingInput(header: header, payload: payload) + "." + Base64URL.encode(signature)
    }
}

/// A tiny deterministic generator for the robustness test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
