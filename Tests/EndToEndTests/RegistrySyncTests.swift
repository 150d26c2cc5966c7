import Foundation
import TestSupport
import Testing

/// Catalog reconciliation and deletion through Portcullis against the real registry and skopeo.
///
/// The stack's registry sends no notifications at all, so every push here is one whose events were
/// lost: only `registry sync` can tell Portcullis about it.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RegistrySyncTests {
    /// The tags `tag list --json` prints, by name.
    private func tags(_ stack: Stack, _ repository: String) async throws -> [String: [String: String]]? {
        let result = try await stack.portcullis.run(["tag", "list", repository, "--json"])
        guard result.succeeded else { return nil }
        let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["tag"] ?? "", $0) })
    }

    @Test func pushesWhoseEventsWereLostAreHealedBySyncAndADryRunWritesNothing() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let image = try await stack.image()
        for tag in ["v1", "latest"] {
            let push = try await alice.push(image, to: stack.registry, "alice/app:\(tag)")
            #expect(push.succeeded, "\(push)")
        }

        let dryRun = try await stack.portcullis.run(["registry", "sync", "--dry-run"])
        #expect(dryRun.succeeded, "\(dryRun)\n\(stack.logs())")
        #expect(dryRun.stdout.contains("would add tag alice/app:v1 \(image.manifestDigest)"), "\(dryRun)")
        #expect(try await tags(stack, "alice/app") == nil, "a dry run must not record anything")

        let sync = try await stack.portcullis.run(["registry", "sync"])
        #expect(sync.succeeded, "\(sync)\n\(stack.logs())")
        #expect(sync.stdout.contains("create repository alice/app"), "\(sync)")
        let recorded = try await tags(stack, "alice/app")
        #expect(recorded?.keys.sorted() == ["latest", "v1"])
        #expect(recorded?["v1"]?["digest"] == image.manifestDigest)
        #expect(recorded?["v1"]?["size"]?.isEmpty == false, "the size comes from the manifest")

        let again = try await stack.portcullis.run(["registry", "sync"])
        #expect(again.stdout.contains("no changes"), "\(again)")
        let table = try await stack.portcullis.run(["tag", "list", "alice/app"])
        #expect(table.stdout.hasPrefix("TAG"), "\(table)")
        let repositories = try await stack.portcullis.run(["repository", "list", "alice"])
        #expect(repositories.stdout.contains("alice/app"), "\(repositories)")
    }

    @Test func aDeleteDoneDirectlyAtTheRegistryIsHealedBySync() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let kept = try await stack.image("kept")
        let dropped = try await stack.image("dropped")
        #expect(try await alice.push(kept, to: stack.registry, "alice/web:v1").succeeded)
        #expect(try await alice.push(dropped, to: stack.registry, "alice/web:v2").succeeded)
        #expect(try await alice.push(dropped, to: stack.registry, "alice/gone:v1").succeeded)
        try await stack.portcullis.must(["registry", "sync"])
        #expect(try await tags(stack, "alice/web")?.keys.sorted() == ["v1", "v2"])

        let deleted = try await alice.delete(stack.registry, "alice/web:v2")
        #expect(deleted.succeeded, "\(deleted)\n\(stack.logs())")
        #expect(try await alice.delete(stack.registry, "alice/gone:v1").succeeded)

        let sync = try await stack.portcullis.run(["registry", "sync"])
        #expect(sync.succeeded, "\(sync)\n\(stack.logs())")
        #expect(sync.stdout.contains("remove tag alice/web:v2"), "\(sync)")
        #expect(sync.stdout.contains("remove repository alice/gone"), "\(sync)")
        #expect(try await tags(stack, "alice/web")?.keys.sorted() == ["v1"])
        #expect(try await tags(stack, "alice/gone") == nil)
    }

    @Test func aTagDeletedThroughPortcullisIsGoneFromTheRegistryAndTheDatabase() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let shared = try await stack.image("shared")
        let other = try await stack.image("other")
        #expect(try await alice.push(shared, to: stack.registry, "devs-private/app:v1").succeeded)
        #expect(try await alice.push(shared, to: stack.registry, "devs-private/app:latest").succeeded)
        #expect(try await alice.push(other, to: stack.registry, "devs-private/app:v2").succeeded)
        try await stack.portcullis.must(["registry", "sync"])

        // bob is a viewer of devs: the policy refuses, and nothing changes anywhere.
        let refused = try await stack.portcullis.run(["tag", "delete", "devs-private/app:v1", "--as", "bob"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("may not delete"), "\(refused)")
        #expect(try await alice.inspectDigest(stack.registry, "devs-private/app:v1").succeeded)

        let missingActor = try await stack.portcullis.run(["tag", "delete", "devs-private/app:v1"])
        #expect(missingActor.status == 64, "\(missingActor)")

        let deleted = try await stack.portcullis.run(["tag", "delete", "devs-private/app:v1", "--as", "alice"])
        #expect(deleted.succeeded, "\(deleted)\n\(stack.logs())")
        #expect(deleted.stdout.contains("latest, v1"), "every tag of the digest goes: \(deleted)")
        #expect(!(try await alice.inspectDigest(stack.registry, "devs-private/app:v1").succeeded))
        #expect(!(try await alice.inspectDigest(stack.registry, "devs-private/app:latest").succeeded))
        #expect(try await tags(stack, "devs-private/app")?.keys.sorted() == ["v2"])

        let repository = try await stack.portcullis.run(["repository", "delete", "devs-private/app", "--as", "alice"])
        #expect(repository.succeeded, "\(repository)\n\(stack.logs())")
        #expect(!(try await alice.inspectDigest(stack.registry, "devs-private/app:v2").succeeded))
        #expect(try await tags(stack, "devs-private/app") == nil)

        let audit = try await stack.portcullis.must(["audit", "tail", "--lines", "50"])
        #expect(audit.stdout.contains("tag.delete"), "\(audit)")
        #expect(audit.stdout.contains("repository.delete"), "\(audit)")
    }

    @Test func aTagTheRegistryNoLongerHoldsIsRefusedAndTheDatabaseKeepsIt() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let image = try await stack.image()
        #expect(try await alice.push(image, to: stack.registry, "alice/app:v1").succeeded)
        try await stack.portcullis.must(["registry", "sync"])
        #expect(try await alice.delete(stack.registry, "alice/app:v1").succeeded)

        let refused = try await stack.portcullis.run(["tag", "delete", "alice/app:v1", "--as", "alice"])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("registry sync"), "\(refused)")
        #expect(try await tags(stack, "alice/app")?.keys.sorted() == ["v1"])
    }

    @Test func pushesARestartedRegistryNeverDeliveredAreHealedBySync() async throws {
        try Peers.require()
        let service = "e2e-registry.test"
        let issuer = "portcullis-e2e"
        let portcullisPort = try freePort()
        var registryPort = try freePort()
        while registryPort == portcullisPort { registryPort = try freePort() }
        // Notifications go to a port nobody listens on: the registry queues them in memory and retries
        // forever, and its restart drops them.
        var deadPort = try freePort()
        while deadPort == portcullisPort || deadPort == registryPort { deadPort = try freePort() }
        let portcullis = try Portcullis(
            port: portcullisPort, service: service, issuer: issuer, registryURL: "http://127.0.0.1:\(registryPort)")
        defer { portcullis.stop() }
        let scratch = try TemporaryDirectory("scratch")
        defer { scratch.remove() }
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser(Stack.admin.name, password: Stack.admin.password, admin: true)
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        let bundle = portcullis.directory.path("rootcertbundle.pem")
        try portcullis.writeBundle(of: [Portcullis.defaultKey.certificate], to: bundle)
        let registry = try DockerRegistry(
            DockerRegistry.Options(
                tokenAuth: DockerRegistry.TokenAuth(
                    realm: portcullis.realm, service: service, issuer: issuer, rootCertificateBundle: bundle.path),
                notifications: DockerRegistry.Notifications(
                    url: "http://127.0.0.1:\(deadPort)/v2/webhooks/events", authorization: "Bearer lost"),
                port: registryPort))
        defer { registry.remove() }
        try await portcullis.start()
        try await registry.start()

        let admin = try Skopeo(in: scratch, label: "admin")
        let login = try await admin.run(
            [
                "login", "--authfile", admin.authFile.path, "--tls-verify=false", "--username", Stack.admin.name,
                "--password-stdin", registry.host,
            ], input: Stack.admin.password + "\n")
        #expect(login.succeeded, "\(login)\n\(portcullis.logTail())")
        let image = try await OCIImage.build(in: scratch.path("image"))
        for reference in ["orphans/app:v1", "busybox:latest"] {
            let push = try await admin.run(
                [
                    "copy", "--authfile", admin.authFile.path, "--dest-tls-verify=false", image.reference,
                    "docker://\(registry.host)/\(reference)",
                ])
            #expect(push.succeeded, "\(push)\n\(registry.logTail())")
        }
        registry.stop()
        try await registry.start()

        let sync = try await portcullis.run(["registry", "sync"])
        #expect(sync.succeeded, "\(sync)\n\(portcullis.logTail())")
        #expect(sync.stdout.contains("add tag orphans/app:v1 \(image.manifestDigest)"), "\(sync)")
        #expect(sync.stdout.contains("add tag busybox:latest"), "\(sync)")
        let repositories = try await portcullis.run(["repository", "list", "orphans"])
        #expect(repositories.stdout.contains("orphans/app"), "\(repositories)")
        let tags = try await portcullis.run(["tag", "list", "busybox"])
        #expect(tags.stdout.contains("latest"), "\(tags)")
    }
}
