import Diagnostics
import Foundation
import IdentityCore
import LDAP
import ProviderTesting
import SQLiteStorage
import Storage
import Synchronization
import TestSupport

/// A log sink that keeps every line, to check what a provider logs (and that no secret is in it).
final class RecordingLogSink: LogSink {
    private let recorded = Mutex<[String]>([])
    func write(line: String) { recorded.withLock { $0.append(line) } }
    var lines: [String] { recorded.withLock { $0 } }
}

/// A provider context over an in-memory store, a recording audit and a recording log, using the
/// LDAP tests' wide I/O pool (hung-server tests hold threads until libldap's timeouts fire).
struct LDAPTestEnvironment {
    let context: ProviderContext
    let audit: RecordingAudit
    let logs: RecordingLogSink

    static func make() async throws -> LDAPTestEnvironment {
        let store = try await SQLiteStore.open(.init(location: .inMemory))
        _ = try await store.migrate()
        let audit = RecordingAudit()
        let logs = RecordingLogSink()
        let context = ProviderContext(
            logger: Logger(label: "ldap-test", level: .debug, sink: logs), store: store, ioPool: ldapTestPool,
            cpuPool: TestProviderContext.cpuPool, audit: audit)
        return LDAPTestEnvironment(context: context, audit: audit, logs: logs)
    }

    /// A provider against `slapd` over StartTLS with the service account and `member` groups, changed by `adjust`.
    func provider(
        _ id: ProviderID = "corp-ldap", slapd: Slapd, _ adjust: (inout LDAPProvider.Configuration) -> Void = { _ in }
    ) throws -> LDAPProvider {
        var configuration = LDAPProvider.Configuration.standard(slapd)
        adjust(&configuration)
        return try LDAPProvider(id: id, displayName: "Test directory", configuration: configuration, context: context)
    }

    func credentials(_ username: String, _ password: String) -> PasswordCredentials {
        PasswordCredentials(username: username, password: password, clientAddress: "192.0.2.7")
    }
}

extension LDAPProvider.Configuration {
    /// StartTLS with the right CA, the read-only service account, users under `ou=people`, `member` groups.
    static func standard(_ slapd: Slapd) -> Self {
        LDAPProvider.Configuration(
            url: slapd.ldapURL, startTLS: true, caFile: slapd.caFile, connectTimeout: ConfigDuration(seconds: 1),
            operationTimeout: ConfigDuration(seconds: 1), bindDN: Slapd.serviceDN, bindPassword: Slapd.servicePassword,
            user: .init(baseDN: Slapd.peopleDN), groups: .init(baseDN: Slapd.groupsDN))
    }
}

/// The DN of a fixture group.
func groupDN(_ cn: String) -> String { "cn=\(cn),\(Slapd.groupsDN)" }

extension PasswordOutcome {
    /// The identity, when authenticated.
    var identity: ExternalIdentity? {
        if case .authenticated(let identity) = self { return identity }
        return nil
    }

    var isNotMine: Bool {
        if case .notMine = self { return true }
        return false
    }

    var isInvalidCredentials: Bool {
        if case .rejected(.invalidCredentials) = self { return true }
        return false
    }
}

/// A migrated in-memory store for tests that need a `ProviderContext` but no data.
enum TestStore {
    static func make() async throws -> SQLiteStore {
        let store = try await SQLiteStore.open(.init(location: .inMemory))
        _ = try await store.migrate()
        return store
    }
}
