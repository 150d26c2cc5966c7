import Foundation
import PostgresStorage
import TestSupport
import Testing
import Threading

/// The PostgreSQL server of the suite being run, set by the `.postgres` trait.
enum PostgresFixture {
    @TaskLocal static var current: PostgresServer?

    /// The threads every blocking libpq call of these tests runs on (never the cooperative pool).
    static let pool = BlockingPool(name: "postgres-tests", threads: 4)

    /// A fresh, empty database on the suite's server; fails the test when the trait did not start one.
    static func database(_ label: String) async throws -> String {
        guard let server = current else {
            throw TestSetupError(description: "no PostgreSQL for this test (the suite lacks the .postgres trait)")
        }
        return try await pool.run { try server.createDatabase(label) }
    }

    /// Opens a connection to `connectionString`, runs `body` with it on the pool, and closes it.
    static func with<T: Sendable>(
        _ connectionString: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await pool.run {
            let connection = try PostgresConnection(connectionString)
            defer { connection.close() }
            return try body(connection)
        }
    }
}

/// A test's setup is wrong (not the code under test).
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
}

/// Starts one PostgreSQL server for a whole suite and stops and deletes it when the suite ends.
struct PostgresSuiteTrait: SuiteTrait, TestScoping {
    let label: String

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await PostgresServer.start(label: label)
        defer { server.remove() }
        try await PostgresFixture.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == PostgresSuiteTrait {
    /// One real PostgreSQL for the suite (skipped loudly without PostgreSQL, failing under `CI=true`).
    static func postgres(_ label: String) -> Self { PostgresSuiteTrait(label: label) }
}
