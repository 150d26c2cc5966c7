import CryptoCore
import Foundation
import HTTPClient
import RegistryClient
import RegistryCore
import TestSupport
import Testing

/// The client against Debian's docker-registry 2.8 with token auth, populated by plain HTTP pushes.
@Suite(.enabled(if: registryInstalled, "docker-registry missing: run .ci/install-deps test"))
struct LiveRegistryTests {
    @Test func theCatalogIsFollowedPageByPageToTheEnd() async throws {
        let fixture = try await RegistryFixture()
        let names = ["alpha/one", "alpha/two", "beta/three", "gamma/four", "gamma/five"]
        for name in names { try await fixture.pusher.pushImage(name, tag: "v1") }
        let tokens = HandSignedTokens()
        let recorder = RecordingFetcher()
        let client = fixture.client(tokens: tokens, http: recorder) { $0.pageSize = 2 }

        let catalog = try await client.catalog()

        #expect(catalog == names.sorted())
        #expect(recorder.urls.count == 3, "\(recorder.urls)")
        // Three pages, one token for the catalog scope, reused from the cache.
        #expect(tokens.requests.map { $0.map(\.description) } == [["registry:catalog:*"]])
    }

    @Test func tagsAreListedCompletelyAndAnUnknownRepositoryIsNil() async throws {
        let fixture = try await RegistryFixture()
        let tags = ["1.0", "1.1", "2.0", "latest", "v3"]
        let first = try await fixture.pusher.pushImage("team/app", tag: tags[0])
        for tag in tags.dropFirst() { try await fixture.pusher.pushManifest("team/app", first, reference: tag) }
        let recorder = RecordingFetcher()
        let client = fixture.client(http: recorder) { $0.pageSize = 2 }

        #expect(try await client.tags(of: "team/app")?.sorted() == tags)
        // Registry 2.8 ignores `n` on tags/list and answers every tag at once (FaultTests page through tags).
        #expect(recorder.urls.count == 1, "\(recorder.urls)")
        #expect(try await client.tags(of: "team/missing") == nil)
    }

    @Test func eachManifestMediaTypeIsHeadedAndFetchedWithItsDigest() async throws {
        let fixture = try await RegistryFixture()
        let pusher = fixture.pusher
        let pushed: [String: PushedManifest] = [
            "docker": try await taggedImage(pusher, "docker", ManifestMediaType.dockerManifest),
            "oci": try await taggedImage(pusher, "oci", ManifestMediaType.ociManifest),
            "list": try await pusher.pushIndex("media/all", tag: "list", oci: false),
            "index": try await pusher.pushIndex("media/all", tag: "index", oci: true),
        ]
        let client = fixture.client()

        for (tag, manifest) in pushed {
            let head = try #require(try await client.headManifest("media/all", reference: tag))
            #expect(head.digest == manifest.digest, "\(tag)")
            #expect(head.mediaType == manifest.mediaType, "\(tag)")
            #expect(head.length == Int64(manifest.size), "\(tag)")

            let byTag = try #require(try await client.manifest("media/all", reference: tag))
            #expect(byTag.body == manifest.body, "\(tag)")
            #expect(byTag.descriptor.digest == manifest.digest, "\(tag)")
            #expect(byTag.descriptor.mediaType == manifest.mediaType, "\(tag)")

            let byDigest = try #require(try await client.manifest("media/all", reference: manifest.digest))
            #expect(byDigest.body == manifest.body, "\(tag)")
            #expect(try await client.headManifest("media/all", reference: manifest.digest)?.digest == manifest.digest)
        }
        #expect(try await client.headManifest("media/all", reference: "absent") == nil)
        #expect(try await client.manifest("media/all", reference: "absent") == nil)
        #expect(try await client.headManifest("media/nothing", reference: "v1") == nil)
    }

    private func taggedImage(_ pusher: Pusher, _ tag: String, _ mediaType: String) async throws -> PushedManifest {
        try await pusher.pushImage("media/all", tag: tag, mediaType: mediaType)
    }

    @Test func deletingByDigestRemovesEveryTagPointingAtIt() async throws {
        let fixture = try await RegistryFixture()
        let manifest = try await fixture.pusher.pushImage("team/gone", tag: "a")
        try await fixture.pusher.pushManifest("team/gone", manifest, reference: "b")
        let kept = try await fixture.pusher.pushImage("team/gone", tag: "kept")
        let tokens = HandSignedTokens()
        let client = fixture.client(tokens: tokens)

        try await client.deleteManifest("team/gone", digest: manifest.digest)

        #expect(try await client.tags(of: "team/gone") == ["kept"])
        #expect(try await client.headManifest("team/gone", reference: manifest.digest) == nil)
        #expect(try await client.headManifest("team/gone", reference: "kept")?.digest == kept.digest)
        await #expect(
            performing: { try await client.deleteManifest("team/gone", digest: manifest.digest) },
            throws: hasCode(.notFound))
        #expect(tokens.requests.contains { $0.map(\.description) == ["repository:team/gone:delete"] })
    }

    @Test func aRegistryWithDeletionDisabledSaysSo() async throws {
        let fixture = try await RegistryFixture(deleteEnabled: false)
        let manifest = try await fixture.pusher.pushImage("team/stays", tag: "v1")
        let client = fixture.client()

        await #expect(
            performing: { try await client.deleteManifest("team/stays", digest: manifest.digest) },
            throws: hasCode(.deletionDisabled))
        #expect(try await client.tags(of: "team/stays") == ["v1"])
    }

    @Test func aRegistryUnderAPathPrefixAnswersTheSameCalls() async throws {
        let fixture = try await RegistryFixture(pathPrefix: "/mirror/registry/")
        for name in ["p/a", "p/b", "p/c"] { try await fixture.pusher.pushImage(name, tag: "v1") }
        let manifest = try await fixture.pusher.pushImage("p/a", tag: "v2")
        let client = fixture.client { $0.pageSize = 2 }

        #expect(try await client.catalog() == ["p/a", "p/b", "p/c"])
        #expect(try await client.tags(of: "p/a")?.sorted() == ["v1", "v2"])
        #expect(try await client.headManifest("p/a", reference: "v2")?.digest == manifest.digest)
        try await client.deleteManifest("p/a", digest: manifest.digest)
        #expect(try await client.tags(of: "p/a") == ["v1"])
    }

    @Test func aStoppedRegistryIsUnreachableAfterTheRetriesAndBackAfterARestart() async throws {
        let fixture = try await RegistryFixture()
        try await fixture.pusher.pushImage("team/durable", tag: "v1")
        let client = fixture.client { $0.maxAttempts = 3 }

        fixture.registry.stop()
        await #expect(performing: { try await client.catalog() }, throws: hasCode(.unreachable))

        try await fixture.registry.start()
        #expect(try await client.catalog() == ["team/durable"])
        #expect(try await client.tags(of: "team/durable") == ["v1"])
    }

    @Test func aTokenTheRegistryDoesNotTrustIsUnauthorizedWithoutTheTokenInTheMessage() async throws {
        let fixture = try await RegistryFixture()
        let strangerKey = try PrivateKey.generate(.ecP256)
        let stranger = TestPKI(
            key: strangerKey,
            certificate: try Certificate.selfSigned(key: strangerKey, commonName: "stranger", validity: .seconds(3600)))
        let tokens = HandSignedTokens(pki: stranger)
        let client = fixture.client(tokens: tokens)

        do {
            _ = try await client.catalog()
            Issue.record("an untrusted token was accepted")
        } catch let error as RegistryAPIError {
            #expect(error.code == .unauthorized)
            #expect(error.message.contains("catalog"))
            #expect(!error.message.contains("eyJ"))
        }
    }

    @Test func aTokenSourceFailureIsACredentialsError() async throws {
        let fixture = try await RegistryFixture()
        let client = fixture.client(tokens: FailingTokens())
        await #expect(performing: { try await client.tags(of: "team/any") }, throws: hasCode(.credentials))
    }

    @Test func theLauncherConfiguresNotificationsWithTheirHeaderFiltersAndReferences() async throws {
        let receiver = try await ScriptedServer()
        let bundle = try TemporaryDirectory("notify-bundle")
        defer { bundle.remove() }
        try TestPKI.shared.certificate.pemEncoded().write(to: bundle.path("b.pem"), atomically: true, encoding: .utf8)
        let registry = try DockerRegistry(
            DockerRegistry.Options(
                tokenAuth: DockerRegistry.TokenAuth(
                    realm: "http://127.0.0.1:1/token", service: TestPKI.service, issuer: TestPKI.issuer,
                    rootCertificateBundle: bundle.path("b.pem").path),
                notifications: DockerRegistry.Notifications(
                    url: "\(receiver.origin)/events", authorization: "Bearer notify-secret",
                    ignoredMediaTypes: ["application/octet-stream"], ignoredActions: ["pull"], includeReferences: true))
        )
        defer { registry.remove() }
        try await registry.start()
        let index = try await Pusher(baseURL: registry.url).pushIndex("team/multi", tag: "v1", oci: true)
        _ = try await HTTPRegistryClient(
            configuration: .init(name: "n", baseURL: registry.url), http: CurlHTTPClient(), tokens: HandSignedTokens()
        ).manifest("team/multi", reference: "v1")

        // Two platform manifests and the index: three manifest pushes, no blob events, no pull events.
        let arrived = try await waitUntil(seconds: 120) { try await receiver.envelopes().count >= 3 }
        #expect(arrived, "\(registry.logTail())")
        try await Task.sleep(for: .milliseconds(300))
        let envelopes = try await receiver.envelopes()
        let events = envelopes.flatMap { (($0["body"] as? [String: Any])?["events"] as? [[String: Any]]) ?? [] }
        #expect(envelopes.allSatisfy { $0["authorization"] as? String == "Bearer notify-secret" })
        #expect(events.count == 3)
        #expect(events.allSatisfy { $0["action"] as? String == "push" })
        let indexEvent = events.first { ($0["target"] as? [String: Any])?["digest"] as? String == index.digest }
        let target = try #require(indexEvent?["target"] as? [String: Any])
        #expect(target["tag"] as? String == "v1")
        #expect((target["references"] as? [[String: Any]])?.count == 2)
    }
}
