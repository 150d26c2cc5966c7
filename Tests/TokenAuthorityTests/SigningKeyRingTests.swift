import CryptoCore
import Foundation
import JOSE
import TestSupport
import Testing

@testable import TokenAuthority

@Suite struct SigningKeyRingTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let day: TimeInterval = 86400

    /// Writes `key` and a certificate valid from `notBefore` for `days` days; returns the entry.
    func writePair(
        _ directory: TemporaryDirectory, _ name: String, key: PrivateKey, notBefore: Date, days: Int = 10
    ) throws -> (keyPath: String, certificatePath: String) {
        let certificate = try Certificate.selfSigned(
            key: key, commonName: name, validity: .seconds(days * 86400), notBefore: notBefore)
        try directory.write("\(name).key", try key.pemEncoded())
        try directory.write("\(name).crt", certificate.pemEncoded())
        return (directory.file("\(name).key"), directory.file("\(name).crt"))
    }

    @Test func keysLoadWithTheAlgorithmOfTheirKindAndALibtrustKeyID() async throws {
        let directory = try TemporaryDirectory()
        let rsa = await TestKeys.rsa()
        let entries = [
            try writePair(directory, "ec", key: TestKeys.ec, notBefore: start),
            try writePair(directory, "rsa", key: rsa, notBefore: start),
        ]
        let ring = try SigningKeyRing.load(entries, keyIDFormat: .libtrust)
        #expect(ring.published.map(\.algorithm) == [.es256, .rs256])
        #expect(ring.published[0].keyID == TestKeys.ec.publicKey.libtrustKeyID())
        #expect(ring.published[0].keyID.split(separator: ":").count == 12)
        #expect(ring.published[1].keyID == rsa.publicKey.libtrustKeyID())
        #expect(ring.published[0].keyPath == entries[0].keyPath)

        let thumbprints = try SigningKeyRing.load(entries, keyIDFormat: .jwkThumbprint)
        #expect(thumbprints.published[0].keyID == TestKeys.ec.publicKey.jwkThumbprint())
        #expect(thumbprints.published[1].keyID == rsa.publicKey.jwkThumbprint())
    }

    @Test func theLibtrustKeyIDMatchesTheShellRecipeFromTheProtocolNotes() async throws {
        let directory = try TemporaryDirectory()
        let entry = try writePair(directory, "ec", key: TestKeys.ec, notBefore: start)
        let ring = try SigningKeyRing.load([entry])
        let recipe =
            "openssl x509 -in '\(entry.certificatePath)' -pubkey -noout | openssl pkey -pubin -outform DER"
            + " | openssl dgst -sha256 -binary | head -c 30 | base32 | tr -d = | fold -w4 | paste -sd:"
        let result = try await Tool.run("sh", ["-c", recipe])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == ring.published[0].keyID)
    }

    @Test func aCertificateForAnotherKeyIsRefused() throws {
        let directory = try TemporaryDirectory()
        let other = try PrivateKey.generate(.ecP256)
        let good = try writePair(directory, "good", key: TestKeys.ec, notBefore: start)
        let foreign = try writePair(directory, "foreign", key: other, notBefore: start)
        #expect(throws: SigningKeyError.certificateMismatch) {
            try SigningKeyRing.load([(good.keyPath, foreign.certificatePath)])
        }
    }

    @Test func missingOrBrokenFilesAreNamedInTheError() throws {
        let directory = try TemporaryDirectory()
        let good = try writePair(directory, "good", key: TestKeys.ec, notBefore: start)
        try directory.write("garbage.pem", "not a pem at all")
        #expect(throws: SigningKeyError.noKeys) { try SigningKeyRing.load([]) }
        do {
            _ = try SigningKeyRing.load([(directory.file("absent.key"), good.certificatePath)])
            Issue.record("loaded a missing key")
        } catch let error as SigningKeyError {
            #expect(error == .unreadableFile)
            #expect(error.reason.contains("absent.key"))
        }
        #expect(throws: SigningKeyError.invalidKey) {
            try SigningKeyRing.load([(directory.file("garbage.pem"), good.certificatePath)])
        }
        #expect(throws: SigningKeyError.invalidCertificate) {
            try SigningKeyRing.load([(good.keyPath, directory.file("garbage.pem"))])
        }
        // A certificate file in place of the key, and the reverse.
        #expect(throws: SigningKeyError.invalidKey) {
            try SigningKeyRing.load([(good.certificatePath, good.certificatePath)])
        }
        #expect(throws: SigningKeyError.invalidCertificate) { try SigningKeyRing.load([(good.keyPath, good.keyPath)]) }
    }

    @Test func theNewestValidCertificateSignsAndAFutureOneWaitsForItsTurn() throws {
        let directory = try TemporaryDirectory()
        let next = try PrivateKey.generate(.ecP256)
        let ring = try SigningKeyRing.load([
            try writePair(directory, "current", key: TestKeys.ec, notBefore: start, days: 10),
            try writePair(directory, "next", key: next, notBefore: start.addingTimeInterval(day), days: 10),
        ])
        let currentID = TestKeys.ec.publicKey.libtrustKeyID()
        let nextID = next.publicKey.libtrustKeyID()
        #expect(try ring.signingKey(at: start).keyID == currentID)
        #expect(try ring.signingKey(at: start.addingTimeInterval(day - 1)).keyID == currentID)
        // A rotated key takes over only `takeoverMargin` after its certificate starts.
        #expect(try ring.signingKey(at: start.addingTimeInterval(day)).keyID == currentID)
        #expect(
            try ring.signingKey(at: start.addingTimeInterval(day + SigningKeyRing.takeoverMargin)).keyID == nextID)
        #expect(try ring.signingKey(at: start.addingTimeInterval(10.5 * day)).keyID == nextID)
        // Both are published all along.
        #expect(ring.published.map(\.keyID) == [currentID, nextID])
        for outside in [start.addingTimeInterval(-1), start.addingTimeInterval(11 * day)] {
            do {
                _ = try ring.signingKey(at: outside)
                Issue.record("a key was chosen at \(outside)")
            } catch let error as SigningKeyError {
                #expect(error == .noValidKey)
                #expect(error.reason.contains("keys rotate"))
                #expect(error.reason.contains("current.key"))
            }
        }
    }

    @Test func equalStartTimesGoToTheEarlierEntry() throws {
        let other = try PrivateKey.generate(.ecP256)
        let first = try SigningKey(
            privateKey: other,
            certificate: try Certificate.selfSigned(
                key: other, commonName: "a", validity: .seconds(600), notBefore: start),
            keyIDFormat: .libtrust)
        let second = try SigningKey(
            privateKey: TestKeys.ec,
            certificate: try Certificate.selfSigned(
                key: TestKeys.ec, commonName: "b", validity: .seconds(600), notBefore: start),
            keyIDFormat: .libtrust)
        let ring = try SigningKeyRing(keys: [first, second])
        #expect(try ring.signingKey(at: start).keyID == first.keyID)
    }

    @Test func theJWKSPublishesEveryDistinctKeyWithItsParameters() async throws {
        let directory = try TemporaryDirectory()
        let rsa = await TestKeys.rsa()
        let ring = try SigningKeyRing.load([
            try writePair(directory, "ec", key: TestKeys.ec, notBefore: start),
            try writePair(directory, "rsa", key: rsa, notBefore: start),
            // The same EC key with a renewed certificate: one JWK, two certificates.
            try writePair(directory, "ec-renewed", key: TestKeys.ec, notBefore: start.addingTimeInterval(day)),
        ])
        let jwks = ring.jwks()
        #expect(!String(decoding: jwks, as: UTF8.self).contains("\\/"))
        let document = try JSONDecoder().decode([String: [JWK]].self, from: Data(jwks))
        let keys = try #require(document["keys"])
        #expect(keys.count == 2)
        #expect(keys[0].kty == "EC" && keys[0].crv == "P-256" && keys[0].x != nil && keys[0].y != nil)
        #expect(keys[0].kid == TestKeys.ec.publicKey.libtrustKeyID() && keys[0].use == "sig" && keys[0].alg == "ES256")
        #expect(keys[1].kty == "RSA" && keys[1].n != nil && keys[1].e == "AQAB")
        #expect(keys[1].kid == rsa.publicKey.libtrustKeyID() && keys[1].use == "sig" && keys[1].alg == "RS256")
        #expect(try PublicKey(jwk: keys[0]).spkiDER == TestKeys.ec.publicKey.spkiDER)
        #expect(try PublicKey(jwk: keys[1]).spkiDER == rsa.publicKey.spkiDER)

        let bundle = ring.certificateBundle()
        #expect(bundle.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1 == 3)
        try directory.write("bundle.pem", bundle)
        let listing = try await Tool.run(
            "openssl", ["crl2pkcs7", "-nocrl", "-certfile", directory.file("bundle.pem")])
        #expect(listing.status == 0, "\(listing.output)")
    }

    @Test func aTokenSignedByTheRingVerifiesWithItsVerificationKeys() throws {
        let directory = try TemporaryDirectory()
        let ring = try SigningKeyRing.load([try writePair(directory, "ec", key: TestKeys.ec, notBefore: start)])
        let token = try ring.signingKey(at: start).sign(claimsJSON: Array(#"{"exp":1800000300}"#.utf8))
        let verified = try UnverifiedJWT(compact: token).verify(
            using: ring.verificationKeys, allowedAlgorithms: [.es256], now: start)
        #expect(verified.header.keyID == ring.published[0].keyID)
        #expect(verified.header.certificateChain == [ring.published[0].certificate.derEncoded])
    }

    @Test func reloadingPicksUpNewFilesAndKeepsTheOldRingWhenTheyAreBroken() throws {
        let directory = try TemporaryDirectory()
        let entry = try writePair(directory, "signer", key: TestKeys.ec, notBefore: start)
        let store = try SigningKeyRingStore(entries: [entry])
        #expect(store.ring.published[0].keyID == TestKeys.ec.publicKey.libtrustKeyID())

        try directory.write("signer.crt", "-----BEGIN CERTIFICATE-----\ntruncated")
        #expect(throws: SigningKeyError.invalidCertificate) { try store.reload() }
        #expect(store.ring.published[0].keyID == TestKeys.ec.publicKey.libtrustKeyID())

        let replacement = try PrivateKey.generate(.ecP256)
        _ = try writePair(directory, "signer", key: replacement, notBefore: start)
        try store.reload()
        #expect(store.ring.published[0].keyID == replacement.publicKey.libtrustKeyID())
    }

    @Test func rotationWritesAPrivateKeyAndACertificateThatStartsLater() throws {
        let directory = try TemporaryDirectory()
        let keyPath = directory.file("keys/next.key")
        let certificatePath = directory.file("keys/next.crt")
        let generated = try KeyRotation.generate(
            commonName: "portcullis", delay: .seconds(3600), validity: .seconds(365 * 86400), keyPath: keyPath,
            certificatePath: certificatePath, now: start)
        #expect(generated.algorithm == .es256)
        #expect(generated.certificate.notBefore == start.addingTimeInterval(3600))
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.file("keys"))
        #expect(leftovers.sorted() == ["next.crt", "next.key"])

        let current = try writePair(directory, "current", key: TestKeys.ec, notBefore: start.addingTimeInterval(-60))
        let ring = try SigningKeyRing.load([current, (keyPath, certificatePath)])
        #expect(try ring.signingKey(at: start).keyID == TestKeys.ec.publicKey.libtrustKeyID())
        #expect(
            try ring.signingKey(at: start.addingTimeInterval(3600 + SigningKeyRing.takeoverMargin)).keyID
                == generated.keyID)

        #expect(throws: SigningKeyError.writeFailed) {
            try KeyRotation.generate(
                commonName: "portcullis", delay: .zero, validity: .seconds(86400), keyPath: keyPath,
                certificatePath: directory.file("keys/other.crt"), now: start)
        }
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == (try generated.privateKey.pemEncoded()))
    }

    @Test func rotationCanMakeAnRSAKey() async throws {
        let directory = try TemporaryDirectory()
        let generated = try await offload {
            try KeyRotation.generate(
                algorithm: .rs256, commonName: "portcullis", delay: .zero, validity: .seconds(86400),
                keyPath: directory.file("r.key"), certificatePath: directory.file("r.crt"),
                keyIDFormat: .jwkThumbprint)
        }
        #expect(generated.algorithm == .rs256)
        #expect(generated.keyID == generated.privateKey.publicKey.jwkThumbprint())
        #expect(generated.privateKey.kind == .rsa(bits: 2048))
    }

    @Test(arguments: [SigningAlgorithm.es256, .rs256])
    func pythonCryptographyVerifiesOurTokenAndAgreesOnTheLibtrustKeyID(algorithm: SigningAlgorithm) async throws {
        let key = algorithm == .es256 ? TestKeys.ec : await TestKeys.rsa()
        let certificate = try Certificate.selfSigned(key: key, commonName: "cross-check", validity: .seconds(3600))
        let signingKey = try SigningKey(privateKey: key, certificate: certificate, keyIDFormat: .libtrust)
        let token = try signingKey.sign(
            claimsJSON: Array(#"{"iss":"portcullis","sub":"ali/ce","exp":1800000300}"#.utf8))
        let result = try await Tool.run("python3", ["-c", Tool.pythonVerifier, token])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("OK \(algorithm.rawValue) \(signingKey.keyID)"), "\(result.output)")
        #expect(result.output.contains(#"'sub': 'ali/ce'"#), "\(result.output)")
    }
}
