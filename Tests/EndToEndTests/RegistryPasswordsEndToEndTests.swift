import Foundation
import TestSupport
import Testing

/// `login.passwordsAtRegistry: false` on the real `portcullis serve` (issue 13 §3): a right password is refused at
/// the token endpoint with a message naming where application tokens are made; an application token works; the
/// web UI's own password sign-in is not affected.
@Suite(.serialized)
struct RegistryPasswordsEndToEndTests {
    @Test func withPasswordsOffTheRegistryTakesApplicationTokensOnlyAndSaysWhereToMakeThem() async throws {
        let portcullis = try Portcullis(
            port: try freePort(), service: "sso.test", issuer: "portcullis-sso",
            registryURL: "http://127.0.0.1:\(try freePort())")
        defer { portcullis.stop() }
        try portcullis.writeConfig("75-login.yaml", "login:\n  passwordsAtRegistry: false\n")
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser("lena", password: "lena-secret-e2e")
        let secret = try await portcullis.must(["token", "create", "lena", "ci"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()

        let password = try await portcullis.tokenRequest(user: ("lena", "lena-secret-e2e"))
        #expect(password.status == 401, "\(password)")
        #expect(password.text.contains("passwords are not accepted by this registry"), "\(password)")
        #expect(password.text.contains("/profile/tokens"), "\(password)")
        let token = try await portcullis.tokenRequest(user: ("lena", secret))
        #expect(token.status == 200, "\(token)\n\(portcullis.logTail())")
    }
}
