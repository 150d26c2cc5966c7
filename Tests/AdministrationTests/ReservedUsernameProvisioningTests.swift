import Administration
import Diagnostics
import IdentityCore
import IdentityMapping
import SQLiteStorage
import Storage
import Testing

/// A CI trust policy's name is a `docker login` username: single sign-on and LDAP provisioning must not give it
/// to a person, as the command line, the REST API and the web UI do not.
@Suite struct ReservedUsernameProvisioningTests {
    static let reserved = ["ci-acme-api": "CI trust policy 'ci-acme-api' (config.d/45-workload-identity.yaml:3)"]

    @Test(arguments: ["ci-acme-api", "CI-Acme-API"])
    func aFederatedFirstLoginUnderAPolicysNameIsRefusedAndNothingIsWritten(name: String) async throws {
        let store = try await SQLiteStore.open(.init(location: .inMemory))
        _ = try await store.migrate()
        let mapper = IdentityMapper(
            store: store, rules: [:], defaultRules: MappingRules(),
            provisioner: PersonalAccountProvisioner(reservedUsernames: Self.reserved),
            logger: Logger(label: "reserved-test", level: .error))
        let outcome = try await mapper.map(
            ExternalIdentity(
                provider: "corp-sso", subject: "s-1", username: name, email: nil, displayName: nil, groups: [],
                origin: .federated))
        guard case .refused(let refusal) = outcome else {
            Issue.record("a person was given a trust policy's name: \(outcome)")
            return
        }
        #expect(refusal.code == .invalidUsername)
        #expect(refusal.description.contains("CI trust policy 'ci-acme-api'"), "\(refusal)")
        #expect(try await store.read { try $0.allUsers() }.isEmpty)

        // Any other name is provisioned as before.
        let other = try await mapper.map(
            ExternalIdentity(
                provider: "corp-sso", subject: "s-2", username: "carol", email: nil, displayName: nil, groups: [],
                origin: .federated))
        guard case .mapped = other else {
            Issue.record("carol was not provisioned: \(other)")
            return
        }
    }
}
