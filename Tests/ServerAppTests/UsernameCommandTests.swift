import Foundation
import JOSE
import TestSupport
import Testing
import TokenAuthority

/// Usernames, `portcullis doctor`, restricted application tokens and repeated token parameters, through
/// the built `portcullis` executable and its token endpoint, as an operator and docker see them.
@Suite(.serialized) struct UsernameCommandTests {
    @Test(
        arguments: [
            ("bad:name", "':' is not allowed"),
            ("a", "at least 2"),
            ("../etc", "'/' is not allowed"),
            (".hidden", "start and end with a letter or digit"),
            ("a..b", "two of"),
            ("jos\u{E9}", "U+00E9 is not allowed"),
            ("\u{430}lice", "U+0430 is not allowed"),
            ("john doe", "a space is not allowed"),
            (String(repeating: "a", count: 65), "at most 64"),
        ])
    func userCreateRefusesANameThatBreaksTheRuleWithItsReasonAndExit65(name: String, reason: String) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.portcullis(
            ["user", "create", name, "--password-stdin"], input: "pw-long-enough\n")
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("portcullis: invalid username '"), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
        #expect(!result.stderr.contains("constraint"), "a clear message, not a database error")
        #expect(!result.stderr.unicodeScalars.contains { $0.value == 0x1B })
        #expect(try await sandbox.portcullis(["user", "list"]).stdout.split(separator: "\n").count == 1, "nobody made")
    }

    @Test func namesDifferingOnlyInCaseAreOneAccountAndLogInByEitherSpelling() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["user", "create", "Alice", "--no-password"]).status == 0)
        let twin = try await sandbox.portcullis(["user", "create", "alice", "--no-password"])
        #expect(twin.status == 65)
        #expect(twin.stderr.contains("'Alice' exists"), "\(twin.stderr)")
        let again = try await sandbox.portcullis(["user", "create", "Alice", "--no-password"])
        #expect(again.status == 65)
        #expect(again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(
            try await sandbox.portcullis(["user", "make-admin", "ALICE"]).status == 0, "commands find either spelling")
    }

    @Test func doctorListsOldNamesThatBreakTheRuleWhileTheirOwnersStillGetTokens() async throws {
        let sandbox = try Sandbox()
        let clean = try await sandbox.portcullis(["doctor"])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout == "no problems found\n")

        for (name, password) in [("legacy", "pw-legacy-123"), ("dora", "pw-dora-1234"), ("doris", "pw-doris-123")] {
            let made = try await sandbox.portcullis(
                ["user", "create", name, "--password-stdin"], input: "\(password)\n")
            #expect(made.status == 0, "\(made.stderr)")
        }
        #expect(try await sandbox.portcullis(["user", "make-admin", "dora"]).status == 0)
        // Names an older Portcullis (or hand-written SQL) could store and the rule now refuses.
        let seeded = try await Processes.run(
            "/usr/bin/sqlite3",
            [
                sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path,
                "UPDATE users SET username = 'j' WHERE username = 'legacy'; "
                    + "UPDATE users SET username = 'Dora' WHERE username = 'doris';",
            ])
        #expect(seeded.status == 0, "\(seeded.stderr)")

        let report = try await sandbox.portcullis(["doctor"])
        #expect(report.status == 1, "\(report.stderr)")
        #expect(report.stderr.contains("2 problems found"), "\(report.stderr)")
        let lines = report.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("CHECK") == true)
        #expect(lines.contains { $0.hasPrefix("username ") && $0.contains("'j'") && $0.contains("at least 2") })
        #expect(lines.contains { $0.hasPrefix("username-case") && $0.contains("'dora' 'Dora'") })

        let port = try freePort()
        let server = try sandbox.start(["serve"], environment: ["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"])
        defer { if server.isRunning { server.terminate() } }
        _ = try await waitForHTTP(port: port, path: "/healthz")
        let base = "http://127.0.0.1:\(port)/v2/token?service=registry.local"

        // The old names keep working, each by its exact spelling; an ambiguous spelling matches nobody.
        let legacy = try await tokenRequest(
            "\(base)&scope=repository:legacy/app:pull", user: "j", password: "pw-legacy-123")
        #expect(legacy.status == 200, "\(legacy.body)")
        #expect(try subject(of: legacy) == "j")
        #expect(try grantedScopes(of: legacy) == ["repository:legacy/app:pull"])
        let upper = try await tokenRequest(base, user: "Dora", password: "pw-doris-123")
        #expect(try subject(of: upper) == "Dora")
        let lower = try await tokenRequest(base, user: "dora", password: "pw-dora-1234")
        #expect(try subject(of: lower) == "dora")
        #expect(try await tokenRequest(base, user: "DORA", password: "pw-dora-1234").status == 401)
        // A name without a twin logs in by any spelling; the token names the stored one.
        let anyCase = try await tokenRequest(base + "&account=J", user: "J", password: "pw-legacy-123")
        #expect(try subject(of: anyCase) == "j", "\(anyCase.body)")

        // A pull-only application token of an administrator gets no catalog; the password does.
        let created = try await sandbox.portcullis(["token", "create", "dora", "pull-only", "--action", "pull"])
        #expect(created.status == 0, "\(created.stderr)")
        let secret = try #require(created.stdout.split(separator: "\n").last.map(String.init))
        let scopes = "&scope=registry:catalog:*&scope=repository:dora/app:pull,push"
        let viaToken = try await tokenRequest(base + scopes, user: "dora", password: secret)
        #expect(try grantedScopes(of: viaToken) == ["repository:dora/app:pull"])
        let viaPassword = try await tokenRequest(base + scopes, user: "dora", password: "pw-dora-1234")
        #expect(try grantedScopes(of: viaPassword) == ["registry:catalog:*", "repository:dora/app:pull,push"])

        // A repeated single-valued parameter is refused, naming it.
        let repeated = try await tokenRequest(base + "&account=dora&account=root", user: "dora", password: secret)
        #expect(repeated.status == 400)
        #expect(repeated.body.contains("'account' is given more than once"), "\(repeated.body)")

        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))
    }

    // MARK: Helpers

    private func tokenRequest(_ url: String, user: String, password: String) async throws -> SimpleResponse {
        let result = try await Processes.run(
            "/usr/bin/curl",
            ["-s", "-g", "-m", "60", "-u", "\(user):\(password)", "-o", "-", "-w", "\n%{http_code}", url])
        let newline = try #require(result.stdout.lastIndex(of: "\n"))
        return SimpleResponse(
            status: Int(result.stdout[result.stdout.index(after: newline)...]) ?? 0,
            body: String(result.stdout[..<newline]))
    }

    private func token(of response: SimpleResponse) throws -> UnverifiedJWT {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any], "\(response.body)")
        return try UnverifiedJWT(compact: try #require(object["token"] as? String))
    }

    private func subject(of response: SimpleResponse) throws -> String? {
        try token(of: response).unverifiedClaims.subject
    }

    /// The token's `access` claim as sorted scope texts (`repository:x:pull,push`).
    private func grantedScopes(of response: SimpleResponse) throws -> [String] {
        struct Claims: Decodable { var access: [AccessClaim]? }
        let access = try token(of: response).unverifiedClaims.decode(Claims.self).access ?? []
        return access.map { "\($0.type):\($0.name):\($0.actions.sorted().joined(separator: ","))" }.sorted()
    }
}
