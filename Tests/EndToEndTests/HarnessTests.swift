import Foundation
import TestSupport
import Testing

/// Proves the harness itself, independently of the token endpoint: the registry starts with this
/// portcullis as its realm and trusts its signing key, the OCI layout is a valid image, and skopeo
/// pushes, inspects, pulls and deletes with the flags the scenario tests use.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct HarnessTests {
    @Test func theRegistryChallengesWithTheRealmServiceAndScopeOfThisPortcullis() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let root = try await stack.registryRequest("GET", "/v2/", token: nil)
        #expect(root.status == 401)
        #expect(
            root.header("www-authenticate")
                == "Bearer realm=\"\(stack.portcullis.realm)\",service=\"\(stack.portcullis.service)\"", "\(root)")
        let catalog = try await stack.registryRequest("GET", "/v2/_catalog", token: nil)
        #expect(catalog.status == 401)
        #expect((catalog.header("www-authenticate") ?? "").contains("scope=\"registry:catalog:*\""), "\(catalog)")
        let tags = try await stack.registryRequest("GET", "/v2/alice/demo/tags/list", token: nil)
        #expect((tags.header("www-authenticate") ?? "").contains("scope=\"repository:alice/demo:pull\""), "\(tags)")
        let health = try await HTTP.request(stack.portcullis.url + "/healthz")
        #expect(health.status == 200)
    }

    @Test func theBuiltOCILayoutIsAnImageSkopeoReadsWithTheExpectedDigest() async throws {
        try Peers.require()
        let scratch = try TemporaryDirectory("oci")
        defer { scratch.remove() }
        let image = try await OCIImage.build(in: scratch.path("image"))
        let skopeo = try Skopeo(in: scratch, label: "local")
        let inspected = try await skopeo.run(["inspect", "--format", "{{.Digest}} {{.Os}}", image.reference])
        #expect(inspected.succeeded, "\(inspected)")
        #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(image.manifestDigest) linux")
        let copy = scratch.path("copy")
        let copied = try await skopeo.run(["copy", image.reference, "oci:\(copy.path):latest"])
        #expect(copied.succeeded, "\(copied)")
        #expect(try OCIImage.indexManifestDigest(of: copy) == image.manifestDigest, "a plain copy keeps every byte")
    }

    @Test func aTokenSignedWithTheSandboxKeyIsAcceptedForPushPullAndDelete() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let sandbox = stack.portcullis.directory
        let token = try HandMadeToken.sign(
            keyFile: sandbox.path(Portcullis.defaultKey.key),
            certificateFile: sandbox.path(Portcullis.defaultKey.certificate),
            issuer: stack.portcullis.issuer, service: stack.portcullis.service, subject: "harness",
            access: [("repository", "alice/demo", ["pull", "push", "delete"]), ("registry", "catalog", ["*"])])
        let root = try await stack.registryRequest("GET", "/v2/", token: token)
        #expect(root.status == 200, "\(root)\n\(stack.registry.logTail())")

        let image = try await stack.image()
        let skopeo = try stack.client("harness")
        let pushed = try await skopeo.run(
            [
                "copy", "--dest-tls-verify=false", "--dest-registry-token", token, image.reference,
                "docker://\(stack.registry.host)/alice/demo:1",
            ])
        #expect(pushed.succeeded, "\(pushed)\n\(stack.registry.logTail())")
        let inspected = try await skopeo.run(
            [
                "inspect", "--tls-verify=false", "--registry-token", token, "--format", "{{.Digest}}",
                "docker://\(stack.registry.host)/alice/demo:1",
            ])
        #expect(
            inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifestDigest, "\(inspected)")
        let destination = stack.pullDestination()
        let pulled = try await skopeo.run(
            [
                "copy", "--src-tls-verify=false", "--src-registry-token", token,
                "docker://\(stack.registry.host)/alice/demo:1",
                "oci:\(destination.path):latest",
            ])
        #expect(pulled.succeeded, "\(pulled)")
        #expect(try OCIImage.indexManifestDigest(of: destination) == image.manifestDigest)
        let catalog = try await stack.registryRequest("GET", "/v2/_catalog", token: token)
        #expect(catalog.status == 200)
        #expect(catalog.text.contains("alice/demo"), "\(catalog)")
        let deleted = try await skopeo.run(
            [
                "delete", "--tls-verify=false", "--registry-token", token,
                "docker://\(stack.registry.host)/alice/demo@\(image.manifestDigest)",
            ])
        #expect(deleted.succeeded, "\(deleted)\n\(stack.registry.logTail())")
        let gone = try await stack.registryRequest(
            "GET", "/v2/alice/demo/manifests/\(image.manifestDigest)", token: token)
        #expect(gone.status == 404)
    }

    @Test func skopeoLoginAsksThePortcullisRealmForAToken() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let skopeo = try stack.client("alice")
        _ = try await skopeo.login(stack.registry, user: "alice", password: Stack.alice.password)
        // Whatever the endpoint answers (until it exists: 404), the request reached portcullis from
        // skopeo with the service and the account, which is what the harness controls.
        let log = stack.portcullis.logTail(20_000)
        #expect(log.contains("/v2/token"), "\(log)")
    }
}
