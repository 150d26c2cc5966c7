import CryptoCore
import Foundation
import JOSE
import TestSupport
import Testing

@testable import TokenAuthority

@Suite struct TokenMinterTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.75)

    func ring(_ key: PrivateKey = TestKeys.ec, notBefore: Date? = nil, validity: Duration = .seconds(30 * 86400))
        throws -> SigningKeyRing
    {
        let certificate = try Certificate.selfSigned(
            key: key, commonName: "portcullis", validity: validity,
            notBefore: notBefore ?? Date(timeIntervalSince1970: 1_799_990_000))
        return try SigningKeyRing(keys: [
            try SigningKey(privateKey: key, certificate: certificate, keyIDFormat: .libtrust)
        ])
    }

    func payload(of token: String) throws -> String {
        let part = try #require(token.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first)
        return String(decoding: try #require(Base64URL.decode(String(part))), as: UTF8.self)
    }

    @Test func aMintedTokenVerifiesAndCarriesTheRegistryClaims() throws {
        let keys = try ring()
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: keys)
        let access = [
            AccessClaim(type: "repository", name: "alice/demo", actions: ["pull", "push"]),
            AccessClaim(type: "registry", name: "catalog", actions: ["*"]),
        ]
        let issued = try minter.mint(subject: "alice", audience: "my-registry", access: access, now: now)
        #expect(issued.issuedAt == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(issued.expiresAt == Date(timeIntervalSince1970: 1_800_000_300))
        #expect(issued.expiresIn == 300)
        #expect(issued.keyID == keys.published[0].keyID)

        let verified = try UnverifiedJWT(compact: issued.token).verify(
            using: keys.verificationKeys, allowedAlgorithms: [.es256], now: now, leeway: .zero)
        #expect(verified.header.algorithm == "ES256")
        #expect(verified.header.type == "JWT")
        #expect(verified.header.keyID == keys.published[0].keyID)
        #expect(verified.header.certificateChain == [keys.published[0].certificate.derEncoded])
        #expect(verified.claims.issuer == "portcullis")
        #expect(verified.claims.subject == "alice")
        #expect(verified.claims.audience == ["my-registry"])
        #expect(verified.claims.notBefore == issued.issuedAt)
        #expect(verified.claims.issuedAt == issued.issuedAt)
        #expect(verified.claims.expiresAt == issued.expiresAt)
        #expect(verified.claims.tokenID == issued.tokenID)
        struct Access: Decodable { var access: [AccessClaim] }
        #expect(try verified.claims.decode(Access.self).access == access)
    }

    @Test func claimsHaveTheJSONTypesTheRegistryDecodesInAFixedOrder() throws {
        let minter = TokenMinter(issuer: "https://auth.example/x", lifetime: .seconds(300), keyRing: try ring())
        let issued = try minter.mint(
            subject: "alice", audience: "registry.example:5000",
            access: [AccessClaim(type: "repository", name: "team/sub/app", actions: ["pull"])], now: now)
        let json = try payload(of: issued.token)
        let pattern =
            #"^\{"iss":"https://auth\.example/x","sub":"alice","aud":"registry\.example:5000","exp":1800000300,"#
            + #""nbf":1800000000,"iat":1800000000,"jti":"[A-Za-z0-9_-]{22}","#
            + #""access":\[\{"type":"repository","name":"team/sub/app","actions":\["pull"\]\}\]\}$"#
        #expect(json.range(of: pattern, options: .regularExpression) != nil, "\(json)")
        #expect(!json.contains("\\/"))
    }

    @Test func anonymousTokensHaveAnEmptySubjectAndMayGrantNothing() throws {
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: try ring())
        let issued = try minter.mint(subject: "", audience: "svc", access: [], now: now)
        let json = try payload(of: issued.token)
        #expect(json.contains(#""sub":"","#))
        #expect(json.hasSuffix(#""access":[]}"#))
    }

    @Test func hostileTextsAreEscapedAndStillVerify() throws {
        let keys = try ring()
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(60), keyRing: keys)
        let subject = "a\"b\\c\n\u{1}ü😀"
        let issued = try minter.mint(
            subject: subject, audience: "svc",
            access: [AccessClaim(type: "repository", name: "x\"y", actions: ["pu\"ll"])],
            now: now)
        let verified = try UnverifiedJWT(compact: issued.token).verify(
            using: keys.verificationKeys, allowedAlgorithms: [.es256], now: now)
        #expect(verified.claims.subject == subject)
        struct Access: Decodable { var access: [AccessClaim] }
        #expect(try verified.claims.decode(Access.self).access[0].name == "x\"y")
    }

    @Test func everyTokenGetsItsOwnRandomID() throws {
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: try ring())
        let ids = try (0..<20).map { _ in try minter.mint(subject: "a", audience: "s", access: [], now: now).tokenID }
        #expect(Set(ids).count == 20)
        #expect(ids.allSatisfy { Base64URL.decode($0)?.count == 16 })
    }

    @Test func theLifetimeStopsAtTheSigningCertificatesExpiry() throws {
        let keys = try ring(notBefore: Date(timeIntervalSince1970: 1_799_999_000), validity: .seconds(1100))
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: keys)
        let issued = try minter.mint(subject: "a", audience: "s", access: [], now: now)
        #expect(issued.expiresAt == Date(timeIntervalSince1970: 1_800_000_100))
        #expect(issued.expiresIn == 100)
    }

    @Test func mintingFailsClearlyWhenNoKeyIsValid() throws {
        let keys = try ring(notBefore: Date(timeIntervalSince1970: 1_900_000_000))
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: keys)
        #expect(throws: SigningKeyError.noValidKey) {
            try minter.mint(subject: "a", audience: "s", access: [], now: now)
        }
    }

    @Test func anRS256RingMintsRS256Tokens() async throws {
        let rsa = await TestKeys.rsa()
        let keys = try ring(rsa)
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: keys)
        let issued = try minter.mint(subject: "bob", audience: "s", access: [], now: now)
        let verified = try UnverifiedJWT(compact: issued.token).verify(
            using: keys.verificationKeys, allowedAlgorithms: [.rs256], now: now)
        #expect(verified.algorithm == .rs256)
    }

    @Test func aMinterOverAStoreSignsWithTheReloadedRing() throws {
        let directory = try TemporaryDirectory()
        let first = try PrivateKey.generate(.ecP256)
        let second = try PrivateKey.generate(.ecP256)
        func write(_ key: PrivateKey) throws {
            try directory.write("k.pem", try key.pemEncoded())
            try directory.write(
                "c.pem", try Certificate.selfSigned(key: key, commonName: "p", validity: .seconds(86400)).pemEncoded())
        }
        try write(first)
        let store = try SigningKeyRingStore(entries: [(directory.file("k.pem"), directory.file("c.pem"))])
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: store)
        #expect(
            try minter.mint(subject: "a", audience: "s", access: [], now: Date()).keyID
                == first.publicKey.libtrustKeyID())
        try write(second)
        try store.reload()
        #expect(
            try minter.mint(subject: "a", audience: "s", access: [], now: Date()).keyID
                == second.publicKey.libtrustKeyID())
    }
}
