import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import Testing
import Threading

/// The backends the store conformance tests run against: every test written over `any Store` with
/// `@Test(arguments: StoreBackend.allCases)` in a suite with the `.storeBackends(…)` trait passes on both, which
/// is the contract a new backend must meet.
public enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// An in-memory SQLite store.
    case sqlite
    /// A fresh database on the suite's PostgreSQL.
    case postgres

    /// The server of the suite being run, set by the `.storeBackends` trait.
    @TaskLocal static var server: PostgresServer?

    /// The threads the blocking libpq calls of the setup run on (never the cooperative pool).
    static let pool = BlockingPool(name: "store-backends", threads: 2)

    /// The name in test output.
    public var testDescription: String { rawValue }

    /// Opens an empty, migrated store of this backend (SQLite in memory; PostgreSQL in a fresh database on the
    /// suite's server), runs `body` with it and closes it.
    ///
    /// Without PostgreSQL installed (outside CI) the PostgreSQL case says so on standard error and passes
    /// without running; under `CI=true` the suite's trait fails instead.
    public func withStore(
        now: @escaping @Sendable () -> Date = { Date() }, _ body: (any Store) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            try await withMemoryStore(now: now) { try await body($0) }
        case .postgres:
            guard let server = try Self.suiteServer() else { return }
            // Table-driven suites run dozens of cases at once; the server takes 60 connections.
            await PostgresBudget.shared.acquire()
            do {
                try await Self.withPostgresStore(on: server, now: now, body)
                await PostgresBudget.shared.release()
            } catch {
                await PostgresBudget.shared.release()
                throw error
            }
        }
    }

    /// Two handles on one empty, migrated database of this backend, as two instances open it (SQLite: one file,
    /// two stores; PostgreSQL: one database, two pools), for the rules several instances rely on.
    public func withTwoStores(_ body: (any Store, any Store) async throws -> Void) async throws {
        try await withStores(2) { try await body($0[0], $0[1]) }
    }

    /// `count` handles on one empty, migrated database of this backend, as that many instances open it (SQLite:
    /// one file; PostgreSQL: one database, one pool of `poolSize` connections each); all are closed afterwards.
    public func withStores(
        _ count: Int, poolSize: Int = 1, now: @escaping @Sendable () -> Date = { Date() },
        _ body: ([any Store]) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory("stores")
            defer { directory.remove() }
            let path = directory.path("portcullis.sqlite").path
            var stores: [any Store] = []
            do {
                for _ in 0..<count {
                    stores.append(
                        try await SQLiteStore.open(
                            SQLiteConfiguration(location: .file(path), busyTimeout: .seconds(60), now: now)))
                    if stores.count == 1 { _ = try await stores[0].migrate() }
                }
            } catch {
                await Self.close(stores)
                throw error
            }
            try await Self.run(body, stores)
        case .postgres:
            guard let server = try Self.suiteServer() else { return }
            await PostgresBudget.shared.acquire()
            do {
                let url = try await Self.pool.run { try server.createDatabase("instances") }
                var stores: [any Store] = []
                do {
                    for _ in 0..<count {
                        stores.append(
                            try await PostgresStore.open(PostgresConfiguration(url: url, poolSize: poolSize, now: now)))
                        if stores.count == 1 { _ = try await stores[0].migrate() }
                    }
                } catch {
                    await Self.close(stores)
                    throw error
                }
                try await Self.run(body, stores)
                await PostgresBudget.shared.release()
            } catch {
                await PostgresBudget.shared.release()
                throw error
            }
        }
    }

    /// A fresh, empty database on the suite's PostgreSQL (started by the `.storeBackends` trait), as a connection
    /// string; nil (said on standard error) when PostgreSQL is not installed outside CI.
    public static func emptyPostgresDatabase(_ label: String) async throws -> String? {
        guard let server = try suiteServer() else { return nil }
        return try await pool.run { try server.createDatabase(label) }
    }

    /// The suite's PostgreSQL; nil (said on standard error) when PostgreSQL is not installed outside CI.
    ///
    /// - Throws: when PostgreSQL should run but the suite has no `.storeBackends` trait to start it.
    private static func suiteServer() throws -> PostgresServer? {
        if let server { return server }
        if PostgresServer.shouldRun {
            throw PostgresServerError("no PostgreSQL for this test (its suite lacks the .storeBackends trait)")
        }
        FileHandle.standardError.write(Data("*** PostgreSQL case SKIPPED: PostgreSQL is not installed\n".utf8))
        return nil
    }

    /// Runs `body` with the stores and closes them, whether it threw or not.
    private static func run(_ body: ([any Store]) async throws -> Void, _ stores: [any Store]) async throws {
        do {
            try await body(stores)
        } catch {
            await close(stores)
            throw error
        }
        await close(stores)
    }

    /// Closes `stores`, last opened first.
    private static func close(_ stores: [any Store]) async {
        for store in stores.reversed() { await store.close() }
    }

    private static func withPostgresStore(
        on server: PostgresServer, now: @escaping @Sendable () -> Date, _ body: (any Store) async throws -> Void
    ) async throws {
        let url = try await pool.run { try server.createDatabase("conformance") }
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

/// Starts one PostgreSQL server for a conformance suite (when PostgreSQL is installed, and always under CI,
/// where a missing one fails the suite), so its SQLite cases still run on a machine without PostgreSQL.
public struct StoreBackendsTrait: SuiteTrait, TestScoping {
    let label: String

    /// The scope is the suite, once.
    public var isRecursive: Bool { false }

    /// Runs the suite with the server started (and removed after it).
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard PostgresServer.shouldRun else { return try await function() }
        let server = try await PostgresServer.start(label: label)
        defer { server.remove() }
        try await StoreBackend.$server.withValue(server) { try await function() }
    }
}

extension Trait where Self == StoreBackendsTrait {
    /// The servers `StoreBackend.withStore` needs for the suite (one PostgreSQL, started once for the suite).
    public static func storeBackends(_ label: String) -> Self { StoreBackendsTrait(label: label) }
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
