import CryptoCore
import Foundation
import JOSE
import TestSupport
import Testing

@testable import TokenAuthority

@Suite struct TokenReuseTests {
    /// A whole second, so the reuse window (measured from the whole-second `iat`) is easy to place.
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let pull = [AccessClaim(type: "repository", name: "team/app", actions: ["pull"])]

    /// A signing key whose self-signed certificate starts at `notBefore` and lasts 30 days.
    func key(_ privateKey: PrivateKey, notBefore: Date) throws -> SigningKey {
        let certificate = try Certificate.selfSigned(
            key: privateKey, commonName: "portcullis", validity: .seconds(30 * 86400), notBefore: notBefore)
        return try SigningKey(privateKey: privateKey, certificate: certificate, keyIDFormat: .libtrust)
    }

    func minter(window: Duration, lifetime: Duration = .seconds(300), keys: [SigningKey]? = nil) throws -> TokenMinter {
        let ring = try SigningKeyRing(keys: keys ?? [key(TestKeys.ec, notBefore: now.addingTimeInterval(-86400))])
        return TokenMinter(issuer: "portcullis", lifetime: lifetime, keyRing: ring, reuseWindow: window)
    }

    @Test func withinTheWindowTheSameTokenComesBackWithACountdownToTheSameExpiry() throws {
        let minter = try minter(window: .seconds(10))
        let first = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        #expect(first.expiresIn == 300)
        let again = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(3.5))
        #expect(again.token == first.token)
        #expect(again.tokenID == first.tokenID)
        #expect(again.issuedAt == first.issuedAt)
        #expect(again.expiresAt == first.expiresAt)
        #expect(again.expiresIn == 296)
        let late = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(9.9))
        #expect(late.token == first.token)
        #expect(late.expiresIn == 290)
    }

    @Test func atTheEndOfTheWindowANewTokenIsMinted() throws {
        let minter = try minter(window: .seconds(10))
        let first = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        let atEdge = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(10))
        #expect(atEdge.token != first.token)
        #expect(atEdge.tokenID != first.tokenID)
        #expect(atEdge.issuedAt == now.addingTimeInterval(10))
        #expect(atEdge.expiresIn == 300)
        let after = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(25))
        #expect(after.tokenID != first.tokenID && after.tokenID != atEdge.tokenID)
    }

    @Test func aTokenWithLessThanASecondLeftIsNotHandedOutAgain() throws {
        let minter = try minter(window: .seconds(10), lifetime: .seconds(5))
        let first = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        let nearExpiry = try minter.mint(
            subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(4.5))
        #expect(nearExpiry.tokenID != first.tokenID)
        #expect(nearExpiry.expiresIn == 5)
    }

    @Test func aDifferentSubjectAudienceOrAccessGetsItsOwnToken() throws {
        let minter = try minter(window: .seconds(10))
        let push = [AccessClaim(type: "repository", name: "team/app", actions: ["pull", "push"])]
        let other = [AccessClaim(type: "repository", name: "team/other", actions: ["pull"])]
        let requests: [(subject: String, audience: String, access: [AccessClaim])] = [
            ("ci", "registry", pull), ("bob", "registry", pull), ("", "registry", pull), ("ci", "other-registry", pull),
            ("ci", "registry", push), ("ci", "registry", other), ("ci", "registry", []),
        ]
        let minted = try requests.map {
            try minter.mint(subject: $0.subject, audience: $0.audience, access: $0.access, now: now)
        }
        #expect(Set(minted.map(\.tokenID)).count == requests.count)
        // Each is then reused for its own request only.
        for (request, token) in zip(requests, minted) {
            let again = try minter.mint(
                subject: request.subject, audience: request.audience, access: request.access,
                now: now.addingTimeInterval(1))
            #expect(again.tokenID == token.tokenID)
        }
    }

    @Test func aKeyRotationInsideTheWindowMintsANewTokenSignedByTheNewKey() throws {
        let newKey = try PrivateKey.generate(.ecP256)
        let old = try key(TestKeys.ec, notBefore: now.addingTimeInterval(-86400))
        // The new certificate starts 2 s from now; it takes over `takeoverMargin` (10 s) later.
        let new = try key(newKey, notBefore: now.addingTimeInterval(2))
        let ring = try SigningKeyRing(keys: [old, new])
        let minter = TokenMinter(
            issuer: "portcullis", lifetime: .seconds(300), keyRing: ring, reuseWindow: .seconds(60))
        let before = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        #expect(before.keyID == old.keyID)
        let rotatedAt = now.addingTimeInterval(15)
        #expect(try ring.signingKey(at: rotatedAt).keyID == new.keyID)
        let after = try minter.mint(subject: "ci", audience: "registry", access: pull, now: rotatedAt)
        #expect(after.keyID == new.keyID)
        #expect(after.tokenID != before.tokenID)
        let verified = try UnverifiedJWT(compact: after.token).verify(
            using: [new.keyID: newKey.publicKey], allowedAlgorithms: [.es256], now: rotatedAt, leeway: .zero)
        #expect(verified.header.keyID == new.keyID)
        #expect(verified.claims.tokenID == after.tokenID)
    }

    @Test func aReloadedRingStoreWithANewKeyMintsANewToken() throws {
        let directory = try TemporaryDirectory()
        let first = try PrivateKey.generate(.ecP256)
        let second = try PrivateKey.generate(.ecP256)
        func write(_ key: PrivateKey) throws {
            try directory.write("k.pem", try key.pemEncoded())
            try directory.write(
                "c.pem",
                try Certificate.selfSigned(
                    key: key, commonName: "p", validity: .seconds(86400), notBefore: now.addingTimeInterval(-3600)
                ).pemEncoded())
        }
        try write(first)
        let store = try SigningKeyRingStore(entries: [(directory.file("k.pem"), directory.file("c.pem"))])
        let minter = TokenMinter(
            issuer: "portcullis", lifetime: .seconds(300), keyRing: store, reuseWindow: .seconds(60))
        let before = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        try write(second)
        try store.reload()
        let after = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now.addingTimeInterval(1))
        #expect(after.keyID == second.publicKey.libtrustKeyID())
        #expect(after.tokenID != before.tokenID)
        _ = try UnverifiedJWT(compact: after.token).verify(
            using: [after.keyID: second.publicKey], allowedAlgorithms: [.es256], now: now, leeway: .seconds(5))
    }

    @Test func aZeroWindowMintsEveryTime() throws {
        let minter = try minter(window: .zero)
        let first = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        let second = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        #expect(first.tokenID != second.tokenID)
        #expect(first.token != second.token)
    }

    @Test func theDefaultWindowIsZero() throws {
        let ring = try SigningKeyRing(keys: [key(TestKeys.ec, notBefore: now.addingTimeInterval(-86400))])
        let minter = TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: ring)
        #expect(minter.reuseWindow == .zero)
        let first = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        let second = try minter.mint(subject: "ci", audience: "registry", access: pull, now: now)
        #expect(first.tokenID != second.tokenID)
    }
}
