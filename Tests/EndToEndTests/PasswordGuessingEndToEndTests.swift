import Foundation
import TestSupport
import Testing

/// Password guessing against the real `portcullis serve` with local accounts and a real slapd behind them,
/// from many loopback source addresses (127.0.0.x, one per simulated client): the answers to unknown names,
/// wrong, locked and disabled accounts are byte-identical; unknown names and directory failures count
/// towards the per-address limit (429 with Retry-After); guesses from ten addresses do not lock the owner's
/// address, and the account-wide lock that comes at the higher count spares it too.
@Suite(.serialized, .enabled(if: Peers.shouldRun && LDAPPeer.shouldRun, Peers.skipComment))
struct PasswordGuessingEndToEndTests {
    static let password = "local-secret-e2e"
    /// The failures one address may make per minute in these scenarios.
    static let failureLimit = 6

    /// One portcullis with local users `lena`, `lockie`, `dina` (disabled), `olga`, `olaf`, the slapd
    /// fixture's directory after them, and small limits.
    static func withServer(_ body: (Portcullis, Slapd) async throws -> Void) async throws {
        let slapd = try await Slapd.start(label: "guessing-e2e")
        defer { slapd.remove() }
        let port = try freePort()
        let portcullis = try Portcullis(
            port: port, service: "guessing.test", issuer: "portcullis-guessing",
            registryURL: "http://127.0.0.1:\(try freePort())")
        defer { portcullis.stop() }
        // Every other policy key keeps its default.
        try portcullis.writeConfig(
            "30-policy.yaml",
            "policy:\n  passwordGuessing: {failures: \(failureLimit), window: 1m, concurrentChecks: 4}\n")
        try portcullis.writeConfig(
            "40-providers.yaml",
            """
            providers:
              - id: local
                type: local
                order: 20
                config:
                  lockout: {attempts: 3, duration: 10m, accountAttempts: 20}

            """)
        try portcullis.configureDirectory(slapd, mapping: "mapping:\n  emailDomain: example.org")
        try await portcullis.must(["db", "migrate"])
        for name in ["lena", "lockie", "dina", "olga", "olaf"] {
            try await portcullis.createUser(name, password: password)
        }
        try await portcullis.must(["user", "disable", "dina"])
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()
        try await body(portcullis, slapd)
    }

    /// Status, headers (without the date and the per-request id) and body: what must not differ between refusals.
    static func answer(_ result: HTTPResult) -> String {
        let headers = result.headers.filter { $0.name != "date" && $0.name != "x-request-id" }.map {
            "\($0.name): \($0.value)"
        }
        return "\(result.status)\n\(headers.joined(separator: "\n"))\n\n\(result.text)"
    }

    @Test func unknownWrongLockedAndDisabledGetByteIdenticalAnswersAndTheLimitCountsThemAll() async throws {
        try await Self.withServer { portcullis, _ in
            // lockie is locked from 127.0.0.13 by three wrong passwords (attempts: 3).
            for _ in 0..<3 {
                _ = try await portcullis.tokenRequest(user: ("lockie", "wrong"), from: "127.0.0.13")
            }
            let cases: [(String, (String, String), String)] = [
                ("unknown name", ("nobody-at-all", "wrong"), "127.0.0.11"),
                ("wrong local password", ("lena", "wrong"), "127.0.0.12"),
                ("locked account", ("lockie", "wrong"), "127.0.0.13"),
                ("disabled account", ("dina", "wrong"), "127.0.0.14"),
                ("wrong directory password", (Slapd.carol.uid, "wrong"), "127.0.0.15"),
                ("locked account, right password, unfamiliar address", ("lockie", Self.password), "127.0.0.13"),
            ]
            var answers: [String: String] = [:]
            for (label, user, address) in cases {
                let result = try await portcullis.tokenRequest(user: user, from: address)
                #expect(result.status == 401, "\(label): \(result)")
                answers[label] = Self.answer(result)
            }
            let reference = try #require(answers["wrong local password"])
            for (label, answer) in answers {
                #expect(answer == reference, "\(label) differs:\n\(answer)\nfrom\n\(reference)")
            }
            // Only the right password learns that an account is disabled.
            let disabled = try await portcullis.tokenRequest(user: ("dina", Self.password), from: "127.0.0.14")
            #expect(disabled.status == 401 && disabled.text.contains("disabled"), "\(disabled)")

            // Unknown names count towards the address limit ...
            for index in 0..<Self.failureLimit {
                let result = try await portcullis.tokenRequest(user: ("ghost\(index)", "guess"), from: "127.0.0.21")
                #expect(result.status == 401)
            }
            let limited = try await portcullis.tokenRequest(user: ("lena", Self.password), from: "127.0.0.21")
            #expect(limited.status == 429, "\(limited)")
            let retryAfter = try #require(limited.header("retry-after").flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            // ... and so do wrong directory passwords.
            for _ in 0..<Self.failureLimit {
                let result = try await portcullis.tokenRequest(user: (Slapd.alice.uid, "wrong"), from: "127.0.0.22")
                #expect(result.status == 401)
            }
            let directoryLimited = try await portcullis.tokenRequest(
                user: (Slapd.alice.uid, Slapd.alice.password), from: "127.0.0.22")
            #expect(directoryLimited.status == 429, "\(directoryLimited)")
            // Another address is untouched.
            let other = try await portcullis.tokenRequest(
                user: (Slapd.alice.uid, Slapd.alice.password), from: "127.0.0.23")
            #expect(other.status == 200, "\(other)")
        }
    }

    @Test func guessesFromTenAddressesDoNotLockTheOwnerOutAndTheAccountWideLockSparesTheirAddress() async throws {
        try await Self.withServer { portcullis, _ in
            let guessers = (31...40).map { "127.0.0.\($0)" }
            // Ten guesses at olaf, one from each of ten addresses: olaf still gets in from anywhere.
            for address in guessers {
                #expect(try await portcullis.tokenRequest(user: ("olaf", "guess"), from: address).status == 401)
            }
            let olaf = try await portcullis.tokenRequest(user: ("olaf", Self.password), from: "127.0.0.41")
            #expect(olaf.status == 200, "\(olaf)")

            // olga logs in from her usual address, then twenty guesses from ten addresses reach the
            // account-wide lock (accountAttempts: 20) without any one address reaching its own (attempts: 3).
            let usual = "127.0.0.30"
            #expect(try await portcullis.tokenRequest(user: ("olga", Self.password), from: usual).status == 200)
            for round in 0..<2 {
                for address in guessers {
                    let result = try await portcullis.tokenRequest(user: ("olga", "guess \(round)"), from: address)
                    #expect(result.status == 401)
                }
            }
            let stranger = try await portcullis.tokenRequest(user: ("olga", Self.password), from: "127.0.0.42")
            #expect(stranger.status == 401, "a new address got in during the account-wide lock: \(stranger)")
            #expect(!stranger.text.contains("locked"), "the lock was revealed to a new address: \(stranger)")
            let owner = try await portcullis.tokenRequest(user: ("olga", Self.password), from: usual)
            #expect(owner.status == 200, "the owner's usual address was locked out: \(owner)\n\(portcullis.logTail())")
        }
    }
}
