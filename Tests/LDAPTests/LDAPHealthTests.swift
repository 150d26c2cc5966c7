import Foundation
import IdentityCore
import LDAP
import TestSupport
import Testing

/// The providers page's health check against a real slapd: healthy while it answers the service account's
/// bind, unhealthy with the reason when nobody listens or the bind is refused.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("health"))
struct LDAPHealthTests {
    var slapd: Slapd { get throws { try SlapdFixture.require() } }

    @Test func aDirectoryThatAnswersTheServiceBindIsHealthy() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let report = try await environment.provider(slapd: slapd).checkHealth()
        #expect(report.isHealthy)
        #expect(report.message.contains("answers"))
    }

    @Test func aPortNobodyListensOnIsUnhealthyWithTheReason() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.url = "ldap://127.0.0.1:\(try! closedPort())" }
        let report = await provider.checkHealth()
        #expect(!report.isHealthy)
        #expect(report.message.contains("unavailable"))
    }

    @Test func aRefusedServiceBindIsUnhealthyAndNeverShowsThePassword() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.bindPassword = "not-the-password" }
        let report = await provider.checkHealth()
        #expect(!report.isHealthy)
        #expect(!report.message.contains("not-the-password"))
    }
}
