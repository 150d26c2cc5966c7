import Foundation
import TestSupport
import Testing

@testable import ServerApp

/// Drives `portcullis webhook …` as an operator would, on a temporary config and database.
@Suite(.serialized) struct WebhookCommandTests {
    private func sandboxWithNamespace() async throws -> Sandbox {
        let sandbox = try Sandbox()
        let team = try await sandbox.portcullis(["team", "create", "owners"])
        #expect(team.status == 0, "\(team.stderr)")
        let namespace = try await sandbox.portcullis(["namespace", "create", "alpha", "--team", "owners"])
        #expect(namespace.status == 0, "\(namespace.stderr)")
        return sandbox
    }

    @Test func createPrintsTheSecretOnceAndNothingElseEverShowsIt() async throws {
        let sandbox = try await sandboxWithNamespace()
        let created = try await sandbox.portcullis([
            "webhook", "create", "alpha", "https://hooks.example/in", "--format", "cloudevents", "--events", "push",
            "--header", "Authorization: Bearer hidden-token",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n")
        #expect(lines.first == "id: 1")
        let secret = try #require(lines.last.map { String($0.dropFirst("secret: ".count)) })
        #expect(secret.count == 64)

        let listed = try await sandbox.portcullis(["webhook", "list"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("https://hooks.example/in"))
        #expect(listed.stdout.contains("cloudevents"))
        #expect(listed.stdout.contains("Authorization"))
        let inAlpha = try await sandbox.portcullis(["webhook", "list", "alpha"])
        let deliveries = try await sandbox.portcullis(["webhook", "deliveries", "1", "--limit", "5"])
        #expect(deliveries.status == 0, "\(deliveries.stderr)")
        let audit = try await sandbox.portcullis(["audit", "tail", "--lines", "20"])
        #expect(audit.stdout.contains("webhook.create"))
        for output in [listed, inAlpha, deliveries, audit] {
            #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret))
            #expect(!output.stdout.contains("hidden-token") && !output.stderr.contains("hidden-token"))
        }
    }

    @Test func webhooksCanBeDisabledEnabledAndDeleted() async throws {
        let sandbox = try await sandboxWithNamespace()
        #expect(try await sandbox.portcullis(["webhook", "create", "alpha", "http://127.0.0.1:9/x"]).status == 0)
        #expect(try await sandbox.portcullis(["webhook", "disable", "1"]).status == 0)
        #expect(try await sandbox.portcullis(["webhook", "list"]).stdout.contains("  no  "))
        #expect(try await sandbox.portcullis(["webhook", "enable", "1"]).status == 0)
        #expect(try await sandbox.portcullis(["webhook", "delete", "1"]).status == 0)
        #expect(try await sandbox.portcullis(["webhook", "delete", "1"]).status == 65)
        #expect(try await sandbox.portcullis(["audit", "tail"]).stdout.contains("webhook.delete"))
    }

    @Test func badInputIsAUsageErrorAndUnknownRecordsAreDataErrors() async throws {
        let sandbox = try await sandboxWithNamespace()
        let forbidden = try await sandbox.portcullis([
            "webhook", "create", "alpha", "https://hooks.example/", "--header", "Host: evil",
        ])
        #expect(forbidden.status == 64)
        #expect(forbidden.stderr.contains("Host"))
        #expect(try await sandbox.portcullis(["webhook", "create", "alpha", "ftp://x/"]).status == 64)
        #expect(
            try await sandbox.portcullis(["webhook", "create", "alpha", "https://x/", "--events", "pull"]).status == 64)
        #expect(
            try await sandbox.portcullis(["webhook", "create", "alpha", "https://x/", "--format", "xml"]).status == 64)
        #expect(try await sandbox.portcullis(["webhook", "create", "nowhere", "https://x/"]).status == 65)
        #expect(try await sandbox.portcullis(["webhook", "deliveries", "42"]).status == 65)
        #expect(try await sandbox.portcullis(["webhook", "redeliver", "42"]).status == 65)
        #expect(try await sandbox.portcullis(["webhook", "deliveries", "abc"]).status == 64)
        #expect(try await sandbox.portcullis(["webhook", "list", "nowhere"]).status == 65)
    }

    @Test func printableTextDefusesTerminalEscapes() {
        #expect(WebhookCommands.printable("ok\u{1B}[2Jgone\nnext") == "ok\\x1b[2Jgone\\nnext")
        #expect(WebhookCommands.printable(String(repeating: "a", count: 10), limit: 4) == "aaaa…")
    }
}
