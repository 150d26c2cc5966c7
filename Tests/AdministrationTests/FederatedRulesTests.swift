import CryptoCore
import Foundation
import IdentityCore
import Testing

@testable import Administration

/// The small rules of federated sign-in: where `next` may point, and how kept grants are sealed.
@Suite struct FederatedRulesTests {
    @Test(
        "Only a path on this site is kept as the place to go after sign-in",
        arguments: [
            ("/namespaces/acme?tab=tags", "/namespaces/acme?tab=tags"), ("https://evil.example/", "/"),
            ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("", "/"),
            ("/sign-in/corp", "/"), ("/sign-out", "/"), ("/a b", "/"), ("/a\u{0}b", "/"),
            ("/" + String(repeating: "a", count: 3000), "/"),
        ])
    func localPaths(_ next: String, _ kept: String) {
        #expect(FederatedSignIn.localPath(next) == kept)
    }

    @Test("A sealed grant opens only for its own identity, and its text shows no token")
    func grantsAreSealedToTheirIdentity() throws {
        let sealer = GrantSealer(key: AEADKey.generate())
        let grant = ProviderGrant(refreshToken: "refresh-secret", idToken: "id-token")
        let sealed = try sealer.seal(grant, provider: "corp", subject: "alice")
        #expect(sealed.hasPrefix("sealed:v1:") && !sealed.contains("refresh-secret"))
        #expect(try sealer.open(sealed, provider: "corp", subject: "alice") == grant)
        #expect(throws: (any Error).self) { try sealer.open(sealed, provider: "corp", subject: "mallory") }
        #expect(throws: (any Error).self) {
            try GrantSealer(key: AEADKey.generate()).open(sealed, provider: "corp", subject: "alice")
        }
    }

    @Test(
        "Usernames from providers are made valid, or refused when nothing is left",
        arguments: [
            ("alice", "alice"), ("José García", "Jose-Garcia"), ("a..b", "a.b"), ("-lead-", "lead"),
            ("bob@corp.example", "bob@corp.example"), ("名前", nil), ("x", nil),
        ] as [(String, String?)])
    func sanitizedUsernames(_ raw: String, _ made: String?) {
        #expect(Username.sanitized(raw) == made)
    }
}
