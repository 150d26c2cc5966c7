import CryptoCore
import Foundation
import IdentityCore
import ProviderTesting
import SQLiteStorage
import Storage
import Synchronization

/// A migrated private in-memory SQLite store, plus the clock and audit recorder around it.
struct TestEnvironment {
    let store: SQLiteStore
    let clock: FixedClock
    let audit: RecordingAudit
    let context: ProviderContext

    static func make() async throws -> TestEnvironment {
        let clock = FixedClock()
        let store = try await SQLiteStore.open(.init(location: .inMemory, now: clock.function))
        _ = try await store.migrate()
        let audit = RecordingAudit()
        return TestEnvironment(
            store: store, clock: clock, audit: audit,
            context: TestProviderContext.make(store: store, clock: clock, audit: audit))
    }

    /// Creates a user whose password is hashed with bcrypt cost 4 (or stored as `hash` verbatim).
    @discardableResult
    func createUser(
        _ username: String, password: String? = nil, hash: String? = nil, enabled: Bool = true,
        email: String? = nil
    ) async throws -> User {
        let stored = try hash ?? password.map { try PasswordHash.make(password: $0, method: .bcrypt(cost: 4)) }
        return try await store.write {
            try $0.createUser(NewUser(username: username, email: email, passwordHash: stored, isEnabled: enabled))
        }
    }

    func user(_ username: String) async throws -> User? {
        try await store.read { try $0.user(named: username) }
    }

    func credentials(_ username: String, _ password: String, from address: String = "192.0.2.1")
        -> PasswordCredentials
    {
        PasswordCredentials(username: username, password: password, clientAddress: address)
    }
}

/// A password verifier that counts its calls around the real one.
final class CountingVerifier: Sendable {
    private let calls = Atomic<Int>(0)

    var count: Int { calls.load(ordering: .relaxed) }

    var function: @Sendable (String, String) -> Bool {
        { password, hash in
            self.calls.add(1, ordering: .relaxed)
            return PasswordHash.verify(password: password, against: hash)
        }
    }
}

/// A configuration source over JSON text, as tests' stand-in for `ProviderSettings`.
struct JSONConfiguration: ProviderConfigurationSource {
    let json: String

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }
}
