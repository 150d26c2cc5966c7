import CryptoCore
import Foundation
import TestSupport
import Testing

/// The composition root's wiring of workload identity: the real `portcullis serve` against a loopback issuer.
@Suite struct WorkloadIdentityServeTests {
    @Test func serveAcceptsAJobTokenAsTheLoginPasswordAndRefreshesIt() async throws {
        let key = HostileIssuer.SigningKey(keyID: "ci-1", key: await TestKeys.rsa())
        let issuer = try HostileIssuer(keys: [key])
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "45-workload-identity.yaml",
            """
            workloadIdentity:
              issuers:
                - {name: ci, issuer: "\(issuer.issuer)", profile: gitlab, audiences: [registry]}
              policies:
                - name: ci-acme-web
                  issuer: ci
                  require: {namespace_id: "22", project_id: "1042"}
                  match: {ref_path: ["refs/heads/main"]}
                  grant: [{namespace: acme, repositories: [web], actions: [pull, push]}]
            """)
        #expect(try await sandbox.portcullis(["user", "create", "carol", "--no-password"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "create", "acme", "--owner", "carol"]).status == 0)
        #expect(try await sandbox.portcullis(["namespace", "create", "acme", "--team", "acme"]).status == 0)
        let port = try freePort()
        let server = try sandbox.start(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"])
        defer { if server.isRunning { server.terminate() } }
        _ = try await waitForHTTP(port: port, path: "/healthz")

        let now = Int(Date().timeIntervalSince1970)
        let jwt = HostileIssuer.sign(
            [
                "iss": issuer.issuer, "aud": "registry", "iat": now, "exp": now + 300, "jti": "job-77",
                "sub": "project_path:acme/web:ref_type:branch:ref:main", "namespace_id": "22", "project_id": "1042",
                "project_path": "acme/web", "ref": "main", "ref_path": "refs/heads/main", "pipeline_id": "5150",
            ], with: key)
        let login = try await Processes.run(
            "/usr/bin/curl",
            [
                "-s", "-u", "ci-acme-web:\(jwt)",
                "http://127.0.0.1:\(port)/v2/token?service=registry.local&scope=repository:acme/web:push,pull"
                    + "&offline_token=true",
            ])
        let answer = try #require(
            JSONSerialization.jsonObject(with: Data(login.stdout.utf8)) as? [String: Any], "\(login.stdout)")
        let refreshToken = try #require(answer["refresh_token"] as? String, "\(login.stdout)")
        #expect(refreshToken.hasPrefix("pcw_"))
        // The registry token grants what the policy allows of what was asked.
        let registryToken = try #require(answer["token"] as? String)
        let payload = try #require(Base64URL.decode(String(registryToken.split(separator: ".")[1])))
        #expect(String(decoding: payload, as: UTF8.self).contains(#""name":"acme/web""#))
        #expect(String(decoding: payload, as: UTF8.self).contains(#""sub":"ci-acme-web""#))

        let refresh = try await Processes.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d",
                "grant_type=refresh_token&service=registry.local&scope=repository:acme/web:pull&refresh_token="
                    + refreshToken, "http://127.0.0.1:\(port)/v2/token",
            ])
        #expect(refresh.stdout == "200")
        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))
        await issuer.stop()

        let export = try await sandbox.portcullis(["audit", "export", "--csv"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("workload.login") && export.stdout.contains("workload.refresh"))
        #expect(export.stdout.contains("5150") && export.stdout.contains("job-77"), "the deciding claims")
        #expect(!export.stdout.contains(jwt) && !export.stdout.contains(refreshToken), "never the credentials")
    }
}
