import CryptoCore
import Foundation
import TestSupport
import Testing

/// Registry notifications end to end: docker-registry 2.8 posts its events to a live `portcullis serve`,
/// whose worker records repositories and tags (reading manifests back with its own registry client), driven
/// with skopeo. What was recorded is read from the SQLite file with the `sqlite3` shell, read-only.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RegistryEventsTests {
    /// A portcullis and a registry that sends it notifications, with an administrator and `alice`.
    final class EventsStack {
        static let secret = "e2e-events-secret-\(UUID().uuidString)"
        static let alice = (name: "alice", password: "alice-password-e2e")

        let portcullis: Portcullis
        let registry: DockerRegistry
        let scratch: TemporaryDirectory
        var host: String { registry.host }
        var database: URL { portcullis.directory.path("var/portcullis.sqlite3") }

        private init(portcullis: Portcullis, registry: DockerRegistry, scratch: TemporaryDirectory) {
            self.portcullis = portcullis
            self.registry = registry
            self.scratch = scratch
        }

        /// Starts the stack; `configure` may add config.d fragments before `serve` starts.
        static func start(configure: (Portcullis) async throws -> Void = { _ in }) async throws -> EventsStack {
            try Peers.require()
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else {
                throw HarnessError("/usr/bin/sqlite3 is missing (Debian package sqlite3)")
            }
            let service = "e2e-registry.test"
            let issuer = "portcullis-e2e"
            let portcullisPort = try freePort()
            var registryPort = try freePort()
            while registryPort == portcullisPort { registryPort = try freePort() }
            let portcullis = try Portcullis(
                port: portcullisPort, service: service, issuer: issuer, registryURL: "http://127.0.0.1:\(registryPort)")
            let scratch = try TemporaryDirectory("events-scratch")
            var registry: DockerRegistry?
            do {
                let secretFile = portcullis.directory.path("events.secret")
                try secret.write(to: secretFile, atomically: true, encoding: .utf8)
                // serve refuses secret files open to group or others.
                chmod(secretFile.path, 0o600)
                try portcullis.writeConfig(
                    "60-test-registry.yaml",
                    """
                    registries:
                      - name: e2e
                        service: \(service)
                        url: http://127.0.0.1:\(registryPort)
                        eventsSecret: {file: \(secretFile.path)}

                    """)
                try await portcullis.must(["db", "migrate"])
                try await portcullis.createUser("admin", password: "admin-password-e2e", admin: true)
                try await portcullis.createUser(alice.name, password: alice.password)
                try portcullis.configureSigningKeys([Portcullis.defaultKey])
                try await portcullis.generateKey(.ec)
                let bundle = portcullis.directory.path("rootcertbundle.pem")
                try portcullis.writeBundle(of: [Portcullis.defaultKey.certificate], to: bundle)
                registry = try DockerRegistry(
                    DockerRegistry.Options(
                        tokenAuth: DockerRegistry.TokenAuth(
                            realm: portcullis.realm, service: service, issuer: issuer,
                            rootCertificateBundle: bundle.path),
                        notifications: DockerRegistry.Notifications(
                            url: portcullis.url + "/v2/webhooks/events", authorization: "Bearer \(secret)"),
                        port: registryPort))
                try await configure(portcullis)
                try await portcullis.start()
                try await registry!.start()
                return EventsStack(portcullis: portcullis, registry: registry!, scratch: scratch)
            } catch {
                registry?.remove()
                portcullis.stop()
                scratch.remove()
                throw error
            }
        }

        /// A skopeo client logged in as alice.
        func alice() async throws -> Skopeo {
            let client = try Skopeo(in: scratch, label: "alice")
            let login = try await client.run(
                [
                    "login", "--authfile", client.authFile.path, "--tls-verify=false", "--username", Self.alice.name,
                    "--password-stdin", host,
                ], input: Self.alice.password + "\n")
            guard login.succeeded else { throw HarnessError("skopeo login failed: \(login)\n\(logs())") }
            return client
        }

        /// `skopeo copy [--all] <source> docker://host/<reference>`.
        func push(_ client: Skopeo, _ source: String, _ reference: String, all: Bool = false) async throws {
            let result = try await client.run(
                ["copy", "--authfile", client.authFile.path, "--dest-tls-verify=false"] + (all ? ["--all"] : [])
                    + [source, "docker://\(host)/\(reference)"])
            guard result.succeeded else { throw HarnessError("push of \(reference) failed: \(result)\n\(logs())") }
        }

        /// Pulls `reference` into a fresh layout.
        func pull(_ client: Skopeo, _ reference: String) async throws {
            let destination = scratch.path("pulled-\(UUID().uuidString.prefix(8))")
            let result = try await client.run([
                "copy", "--authfile", client.authFile.path, "--src-tls-verify=false", "docker://\(host)/\(reference)",
                "oci:\(destination.path):latest",
            ])
            guard result.succeeded else { throw HarnessError("pull of \(reference) failed: \(result)\n\(logs())") }
        }

        /// `skopeo delete docker://host/<reference>` (the registry deletes the manifest by digest).
        func delete(_ client: Skopeo, _ reference: String) async throws {
            let result = try await client.run([
                "delete", "--authfile", client.authFile.path, "--tls-verify=false", "docker://\(host)/\(reference)",
            ])
            guard result.succeeded else { throw HarnessError("delete of \(reference) failed: \(result)\n\(logs())") }
        }

        /// Whether `namespace/repository` is recorded at all.
        func hasRepository(_ namespace: String, _ repository: String) async throws -> Bool {
            let result = try await Processes.run(
                "/usr/bin/sqlite3",
                [
                    "-readonly", database.path,
                    """
                    SELECT count(*) FROM repositories r JOIN namespaces n ON n.id = r.namespace_id
                    WHERE n.name = '\(namespace)' AND r.name = '\(repository)'
                    """,
                ])
            guard result.succeeded else { throw HarnessError("sqlite3 failed: \(result)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
        }

        /// The recorded tag of `namespace/repository:tag`, as a row of the `tags` table.
        func tag(_ namespace: String, _ repository: String, _ tag: String) async throws -> [String: Any]? {
            let result = try await Processes.run(
                "/usr/bin/sqlite3",
                [
                    "-readonly", "-json", database.path,
                    """
                    SELECT t.digest, t.media_type, t.size, t.platforms, t.pull_count, t.pushed_by_name, r.registry
                    FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN namespaces n ON n.id = r.namespace_id
                    WHERE n.name = '\(namespace)' AND r.name = '\(repository)' AND t.name = '\(tag)'
                    """,
                ])
            guard result.succeeded else { throw HarnessError("sqlite3 failed: \(result)") }
            let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return nil }
            let rows = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
            return rows?.first
        }

        /// Waits until the tag's row satisfies `condition`; returns the row then, or throws with the logs.
        func waitForTag(
            _ namespace: String, _ repository: String, _ tag: String, _ what: String,
            _ condition: @escaping ([String: Any]) -> Bool
        ) async throws -> [String: Any] {
            var last: [String: Any]?
            let reached = try await waitUntil(seconds: 120) {
                last = try await self.tag(namespace, repository, tag)
                return last.map(condition) ?? false
            }
            guard reached, let last else {
                throw HarnessError(
                    "\(namespace)/\(repository):\(tag) never got \(what); last \(String(describing: last))\n\(logs())")
            }
            return last
        }

        func logs() -> String { portcullis.logTail() + "\n" + registry.logTail() }

        func stop() {
            registry.remove()
            portcullis.stop()
            scratch.remove()
        }

        deinit { stop() }
    }

    private static func size(_ layout: URL, digest: String) throws -> Int {
        let hex = digest.dropFirst("sha256:".count)
        let attributes = try FileManager.default.attributesOfItem(
            atPath: layout.appendingPathComponent("blobs/sha256/\(hex)").path)
        return (attributes[.size] as? NSNumber)?.intValue ?? -1
    }

    /// config + layer bytes of a one-layer image built by `OCIImage`.
    private static func imageSize(_ image: OCIImage) throws -> Int {
        try size(image.directory, digest: image.configDigest) + size(image.directory, digest: image.layerDigest)
    }

    @Test func aPushIsRecordedWithItsDigestAndSizeAndARepushMovesTheDigest() async throws {
        let stack = try await EventsStack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let first = try await OCIImage.build(in: stack.scratch.path("first"))
        try await stack.push(alice, first.reference, "alice/demo:v1")
        let recorded = try await stack.waitForTag("alice", "demo", "v1", "the first digest") {
            $0["digest"] as? String == first.manifestDigest
        }
        #expect((recorded["size"] as? Int) == (try Self.imageSize(first)))
        #expect(recorded["media_type"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect(recorded["pushed_by_name"] as? String == "alice")
        #expect(recorded["registry"] as? String == "e2e")

        let second = try await OCIImage.build(in: stack.scratch.path("second"))
        try await stack.push(alice, second.reference, "alice/demo:v1")
        let moved = try await stack.waitForTag("alice", "demo", "v1", "the second digest") {
            $0["digest"] as? String == second.manifestDigest
        }
        #expect((moved["size"] as? Int) == (try Self.imageSize(second)))
    }

    @Test func aDeleteDoneDirectlyAtTheRegistryRemovesEveryTagOfThatDigestAndTheEmptyRepository() async throws {
        let stack = try await EventsStack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let image = try await OCIImage.build(in: stack.scratch.path("image"))
        try await stack.push(alice, image.reference, "alice/gone:v1")
        try await stack.push(alice, image.reference, "alice/gone:latest")
        for tag in ["v1", "latest"] {
            _ = try await stack.waitForTag("alice", "gone", tag, "the digest") {
                $0["digest"] as? String == image.manifestDigest
            }
        }

        // Not through Portcullis: the registry's own delete event (and its untag event) must be enough.
        try await stack.delete(alice, "alice/gone:v1")
        let removed = try await waitUntil(seconds: 120) {
            let v1 = try await stack.tag("alice", "gone", "v1")
            let latest = try await stack.tag("alice", "gone", "latest")
            let repository = try await stack.hasRepository("alice", "gone")
            return v1 == nil && latest == nil && !repository
        }
        #expect(removed, "the tags and the repository are still recorded\n\(stack.logs())")
    }

    @Test func pullsAreCountedButPortcullissOwnReadsAreNot() async throws {
        let stack = try await EventsStack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let image = try await OCIImage.build(in: stack.scratch.path("image"))
        try await stack.push(alice, image.reference, "alice/pulled:v1")
        // The size comes from the worker's own GET of the manifest, which the registry reports as a pull.
        _ = try await stack.waitForTag("alice", "pulled", "v1", "a size") { $0["size"] is Int }
        try await Task.sleep(for: .seconds(1))
        #expect(try await stack.tag("alice", "pulled", "v1")?["pull_count"] as? Int == 0)

        try await stack.pull(alice, "alice/pulled:v1")
        let once = try await stack.waitForTag("alice", "pulled", "v1", "a pull") { ($0["pull_count"] as? Int ?? 0) > 0 }
        let perPull = once["pull_count"] as? Int ?? 0
        try await Task.sleep(for: .seconds(1))
        try await stack.pull(alice, "alice/pulled:v1")
        _ = try await stack.waitForTag("alice", "pulled", "v1", "a second pull") {
            ($0["pull_count"] as? Int ?? 0) == 2 * perPull
        }
    }

    @Test func anOCIIndexRecordsItsPlatformsAndTheSizeOfItsImages() async throws {
        let stack = try await EventsStack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let amd64 = try await OCIImage.build(in: stack.scratch.path("amd64"))
        let arm64 = try await OCIImage.build(in: stack.scratch.path("arm64"))

        // One layout holding both images' blobs and an index naming them by platform.
        let layout = stack.scratch.path("multi")
        let blobs = layout.appendingPathComponent("blobs/sha256")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        for image in [amd64, arm64] {
            for digest in [image.manifestDigest, image.configDigest, image.layerDigest] {
                let name = String(digest.dropFirst("sha256:".count))
                let target = blobs.appendingPathComponent(name)
                if !FileManager.default.fileExists(atPath: target.path) {
                    try FileManager.default.copyItem(
                        at: image.directory.appendingPathComponent("blobs/sha256/\(name)"), to: target)
                }
            }
        }
        func entry(_ image: OCIImage, _ architecture: String, _ variant: String?) throws -> String {
            let variantJSON = variant.map { #","variant":"\#($0)""# } ?? ""
            return """
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(image.manifestDigest)",\
                "size":\(try Self.size(image.directory, digest: image.manifestDigest)),\
                "platform":{"architecture":"\(architecture)","os":"linux"\(variantJSON)}}
                """
        }
        let index = Data(
            """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
            \(try entry(amd64, "amd64", nil)),\(try entry(arm64, "arm64", "v8"))]}
            """.utf8)
        let indexHex = Hex.encode(Digest.sha256([UInt8](index)))
        try index.write(to: blobs.appendingPathComponent(indexHex))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: layout.appendingPathComponent("oci-layout"))
        try Data(
            """
            {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json",\
            "digest":"sha256:\(indexHex)","size":\(index.count),\
            "annotations":{"org.opencontainers.image.ref.name":"latest"}}]}
            """.utf8
        ).write(to: layout.appendingPathComponent("index.json"))

        try await stack.push(alice, "oci:\(layout.path):latest", "alice/multi:v1", all: true)
        let recorded = try await stack.waitForTag("alice", "multi", "v1", "the index") {
            $0["digest"] as? String == "sha256:\(indexHex)" && $0["size"] is Int
        }
        #expect(recorded["media_type"] as? String == "application/vnd.oci.image.index.v1+json")
        #expect(recorded["platforms"] as? String == #"["linux/amd64","linux/arm64/v8"]"#)
        #expect((recorded["size"] as? Int) == (try Self.imageSize(amd64) + Self.imageSize(arm64)))
    }
}
