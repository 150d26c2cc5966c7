import Foundation
import TestSupport
import Testing

/// `portcullis registry config` end to end: what it prints, pasted as is into the config.yml of Debian's
/// docker-registry, makes a registry that trusts Portcullis's tokens and delivers its push notifications
/// to Portcullis with the events secret that the first start generated.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RegistryConfigEndToEndTests {
    @Test func theBlockRegistryConfigPrintsMakesARealRegistryTrustTokensAndDeliverAuthenticatedPushEvents()
        async throws
    {
        try Peers.require()
        let service = "e2e-registry.test"
        let portcullisPort = try freePort()
        var registryPort = try freePort()
        while registryPort == portcullisPort { registryPort = try freePort() }
        let portcullis = try Portcullis(
            port: portcullisPort, service: service, issuer: "portcullis-e2e",
            registryURL: "http://127.0.0.1:\(registryPort)")
        defer { portcullis.stop() }
        let scratch = try TemporaryDirectory("registry-config-scratch")
        defer { scratch.remove() }
        // The shipped registry entry's secret reference, for this test's registry: nothing exists yet.
        try portcullis.writeConfig(
            "60-test-registry.yaml",
            """
            registries:
              - name: e2e
                service: \(service)
                url: http://127.0.0.1:\(registryPort)
                eventsSecret: {file: var/keys/registry-events.secret}

            """)
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser("alice", password: "alice-password-e2e")

        let printed = try await portcullis.must(["registry", "config"])
        let block = printed.stdout
        #expect(block.contains("Authorization: [\"Bearer "), "\(printed)")
        let registry = try DockerRegistry(DockerRegistry.Options(port: registryPort, pastedSections: block))
        defer { registry.remove() }
        try await portcullis.start()
        try await registry.start()

        let client = try Skopeo(in: scratch, label: "alice")
        let login = try await client.run(
            [
                "login", "--authfile", client.authFile.path, "--tls-verify=false", "--username", "alice",
                "--password-stdin", registry.host,
            ], input: "alice-password-e2e\n")
        try #require(login.succeeded, "\(login)\n\(portcullis.logTail())\n\(registry.logTail())")
        let image = try await OCIImage.build(in: scratch.path("image"))
        let push = try await client.run([
            "copy", "--authfile", client.authFile.path, "--dest-tls-verify=false", image.reference,
            "docker://\(registry.host)/alice/demo:1",
        ])
        try #require(push.succeeded, "\(push)\n\(portcullis.logTail())\n\(registry.logTail())")

        // Only an authenticated notification is stored and processed: the tag appearing with the pushed
        // digest is the registry's event, accepted with the secret from the pasted block.
        var listing: ProcessResult?
        let recorded = try await waitUntil(seconds: 120) {
            let result = try await portcullis.run(["tag", "list", "alice/demo", "--json"])
            listing = result
            return result.succeeded && result.stdout.contains(image.manifestDigest)
        }
        #expect(
            recorded,
            "the push never reached Portcullis: \(String(describing: listing))\n\(portcullis.logTail())\n\(registry.logTail())"
        )
        let log = try String(contentsOf: portcullis.directory.path("portcullis.log"), encoding: .utf8)
        #expect(!log.contains("level=error"), "\(log)")
    }
}
