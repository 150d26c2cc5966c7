import CryptoCore
import Foundation
import TestSupport
import Testing

/// The registry accepts tokens signed with either key type, and a key rotation configured ahead of
/// time switches the signing key without one failed push.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct SigningKeyTests {
    @Test(arguments: Portcullis.KeyType.allCases)
    func aPushAndPullSucceedWithTokensSignedBy(_ keyType: Portcullis.KeyType) async throws {
        let stack = try await Stack.start(keyType: keyType)
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let image = try await stack.image()
        let pushed = try await alice.push(image, to: stack.registry, "alice/demo:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
        let destination = stack.pullDestination()
        let pulled = try await alice.pull(stack.registry, "alice/demo:1", into: destination)
        #expect(pulled.succeeded, "\(pulled)\n\(stack.logs())")
        #expect(try OCIImage.indexManifestDigest(of: destination) == image.manifestDigest)

        let token = try await stack.portcullis.token(
            scopes: ["repository:alice/demo:pull"], user: Stack.alice.credentials)
        let jwt = try DecodedJWT(token)
        #expect(jwt.algorithm == keyType.description)
        let certificate = try stack.portcullis.certificate(Portcullis.defaultKey.certificate)
        #expect(jwt.keyID == certificate.publicKey.libtrustKeyID())
    }

    /// Two keys configured, the second one's certificate valid from 15 s after `keys rotate` and signing
    /// from 10 s later; the registry trusts both (`keys bundle`). Pushes run every second across the
    /// activation: every one succeeds, tokens before carry the old kid, tokens after it the new one.
    @Test func aKeyRotationDuringPushesLosesNoPushAndSwitchesTheKeyID() async throws {
        let next = (key: "var/keys/next-key.pem", certificate: "var/keys/next-cert.pem")
        let stack = try await Stack.start { portcullis in
            try portcullis.configureSigningKeys([Portcullis.defaultKey])
            try await portcullis.generateKey(.ec)
            try await portcullis.must(
                ["keys", "rotate", "--key", next.key, "--certificate", next.certificate, "--activate-in", "15s"])
            try portcullis.configureSigningKeys([Portcullis.defaultKey, next])
            return nil  // the bundle comes from `portcullis keys bundle --output`
        }
        defer { stack.stop() }
        let oldKeyID = try stack.portcullis.certificate(Portcullis.defaultKey.certificate).publicKey.libtrustKeyID()
        let nextCertificate = try stack.portcullis.certificate(next.certificate)
        let newKeyID = nextCertificate.publicKey.libtrustKeyID()
        // Portcullis lets a rotated key take over 10 s after its certificate's notBefore
        // (SigningKeyRing.takeoverMargin), so a registry whose clock lags never sees a not-yet-valid x5c.
        let activation = nextCertificate.notBefore.addingTimeInterval(10)
        #expect(oldKeyID != newKeyID)
        #expect(activation > Date(), "the new certificate is not valid yet when serving starts")
        let bundle = try String(contentsOf: stack.bundle, encoding: .utf8)
        #expect(
            bundle.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2, "the bundle holds both certificates")

        let alice = try await stack.loggedIn(Stack.alice)
        let image = try await stack.image()
        var observed: [(at: Date, keyID: String?)] = []
        var pushes = 0
        while Date() < activation.addingTimeInterval(6) {
            pushes += 1
            let pushed = try await alice.push(image, to: stack.registry, "alice/rotating:\(pushes)")
            #expect(
                pushed.succeeded, "push \(pushes) at \(Date()) (activation \(activation)): \(pushed)\n\(stack.logs())")
            let fetchedAt = Date()
            let token = try await stack.portcullis.token(
                scopes: ["repository:alice/rotating:pull"], user: Stack.alice.credentials)
            observed.append((fetchedAt, try DecodedJWT(token).keyID))
            let tags = try await stack.registryRequest("GET", "/v2/alice/rotating/tags/list", token: token)
            #expect(tags.status == 200, "the registry accepts the token fetched at \(fetchedAt): \(tags)")
            try await Task.sleep(for: .milliseconds(700))
        }
        // A second of slack either side of the activation instant for clock granularity.
        let before = observed.filter { $0.at < activation.addingTimeInterval(-1) }
        let after = observed.filter { $0.at > activation.addingTimeInterval(1) }
        #expect(!before.isEmpty && !after.isEmpty, "pushes ran on both sides of the activation: \(observed)")
        #expect(before.allSatisfy { $0.keyID == oldKeyID }, "before activation: \(before.map(\.keyID))")
        #expect(after.allSatisfy { $0.keyID == newKeyID }, "after activation: \(after.map(\.keyID))")
    }
}
