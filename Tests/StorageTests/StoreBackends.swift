import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// The backends the store conformance tests run against: every test written over `any Store` with
/// `@Test(arguments: StoreBackend.allCases)` passes on both, which is the contract a new backend must meet.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// Opens an empty, migrated store of this backend (SQLite in memory; PostgreSQL in a fresh database on the
    /// suite's server), runs `body` with it and closes it.
    ///
    /// Without PostgreSQL installed (outside CI) the PostgreSQL case says so on standard error and passes
    /// without running; under `CI=true` the suite's trait fails instead.
    func withStore(
        now: @escaping @Sendable () -> Date = { Date() }, _ body: (any Store) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            try await withMemoryStore(now: now) { try await body($0) }
        case .postgres:
            guard PostgresFixture.current != nil || PostgresServer.shouldRun else {
                FileHandle.standardError.write(Data("*** PostgreSQL case SKIPPED: PostgreSQL is not installed\n".utf8))
                return
            }
            // Table-driven suites run dozens of cases at once; the server takes 60 connections.
            await PostgresBudget.shared.acquire()
            defer { Task { await PostgresBudget.shared.release() } }
            let url = try await PostgresFixture.database("conformance")
            let store = try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: 2, now: now))
            do {
                _ = try await store.migrate()
                try await body(store)
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }
}

/// Starts one PostgreSQL server for a conformance suite (when PostgreSQL is installed, and always under CI,
/// where a missing one fails the suite), so its SQLite cases still run on a machine without PostgreSQL.
struct StoreBackendsTrait: SuiteTrait, TestScoping {
    let label: String

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard PostgresServer.shouldRun else { return try await function() }
        let server = try await PostgresServer.start(label: label)
        defer { server.remove() }
        try await PostgresFixture.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == StoreBackendsTrait {
    /// The servers `StoreBackend.withStore` needs for the suite (one PostgreSQL, started once for the suite).
    static func storeBackends(_ label: String) -> Self { StoreBackendsTrait(label: label) }
}

/// How many PostgreSQL stores the conformance cases hold open at once (each has two connections).
actor PostgresBudget {
    static let shared = PostgresBudget(stores: 8)

    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(stores: Int) { available = stores }

    /// Waits until a store may be opened.
    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the place to the next waiting case.
    func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
