import IdentityCore
import Testing

@testable import Administration

/// A provider's `accessDenied` (a person outside the allowed organisations, teams, groups, workspaces or
/// domains) becomes a refusal page that names the limit.
@Suite struct FederatedAccessDeniedTests {
    @Test func aPersonOutsideAProvidersLimitIsRefusedWithA403NamingTheLimit() {
        let error = ProviderError(
            .accessDenied, provider: "github",
            reason: "the GitHub user octocat is not a member of an allowed team (acme/platform)")
        let refusal = FederatedSignIn.refusal(for: error, provider: "GitHub")
        #expect(refusal.code == .accountRefused)
        #expect(refusal.status == 403)
        #expect(refusal.reason.contains("not a member of an allowed team (acme/platform)"))
        #expect(refusal.reason.hasPrefix("GitHub signed you in"))
    }
}
