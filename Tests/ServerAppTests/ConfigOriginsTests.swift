import Foundation
import TestSupport
import Testing

/// `config check --origins` of the real binary on the shipped config.d with a `99-local.yaml` drop-in.
@Suite struct ConfigOriginsTests {
    @Test func configCheckWithOriginsNamesTheDropInLineForWhatItOverrodeAndTheShippedLineForTheRest()
        async throws
    {
        let sandbox = try Sandbox()
        try sandbox.writeConfig(
            "99-local.yaml", "# site settings\nserver:\n  publicURL: https://auth.example.com\nlog: {level: warning}\n")
        let result = try await sandbox.portcullis(
            ["config", "check", "--origins"], environment: ["PORTCULLIS_LOG_FORMAT": "json"])
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.components(separatedBy: "\n")
        let local = sandbox.configDirectory.appendingPathComponent("99-local.yaml").path
        let server = sandbox.configDirectory.appendingPathComponent("00-server.yaml").path
        #expect(lines.contains("  publicURL: https://auth.example.com  # \(local):3"), "\(result.stdout)")
        #expect(lines.contains("  level: warning  # \(local):4"))
        #expect(lines.contains("  format: json  # $PORTCULLIS_LOG_FORMAT"))
        #expect(lines.contains { $0.hasPrefix("  listen: 127.0.0.1:5080  # \(server):") })
        let plain = try await sandbox.portcullis(["config", "check"])
        #expect(!plain.stdout.contains("  # "), "without --origins the output carries no comments")
    }
}
