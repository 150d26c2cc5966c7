import CryptoCore
import Foundation
import SQLiteStorage

/// Keys generated once per test process: RSA generation costs up to a few hundred milliseconds.
public enum TestKeys {
    /// The shared P-256 key.
    public static let ec: PrivateKey = try! PrivateKey.generate(.ecP256)
    private static let rsaStorage: PrivateKey = try! PrivateKey.generate(.rsa(bits: 2048))

    /// The shared RSA-2048 key, generated off the cooperative pool on first use.
    public static func rsa() async -> PrivateKey { try! await offload { rsaStorage } }
}

/// Runs blocking work (a child process, key generation) on a fresh thread and awaits its result.
public func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Opens a migrated private in-memory store (with `now` as its clock), runs `body`, then closes it.
@discardableResult
public func withMemoryStore<T>(
    now: @escaping @Sendable () -> Date = { Date() }, _ body: (SQLiteStore) async throws -> T
) async throws -> T {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, now: now))
    do {
        _ = try await store.migrate()
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
