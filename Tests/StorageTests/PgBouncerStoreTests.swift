import Foundation
import PostgresStorage
import Storage
import TestSupport
import Testing

/// The store behind a real PgBouncer in transaction pooling mode: several client connections share fewer server
/// connections, each transaction may land on another one, and nothing the store relies on lives in a session.
@Suite(.enabled(if: PostgresServer.shouldRun && PgBouncer.shouldRun), .postgres("pgbouncer"))
struct PgBouncerStoreTests {
    @Test func twoInstancesBehindPgBouncerInTransactionModeMigrateWriteAndReadAsDirectly() async throws {
        let server = try #require(PostgresFixture.current)
        let direct = try await PostgresFixture.database("bouncer")
        let name = try #require(direct.split(separator: " ").first { $0.hasPrefix("dbname=") }?.dropFirst(7))
        let bouncer = try await PgBouncer.start(pooling: server, serverConnections: 2)
        defer { bouncer.stop() }
        let configuration = PostgresConfiguration(
            url: bouncer.connectionString(database: String(name)), poolSize: 4, statementTimeout: .seconds(20),
            preparedStatements: false, generationPollInterval: nil)
        let first = try await PostgresStore.open(configuration)
        let second = try await PostgresStore.open(configuration)
        do {
            // Both migrate at once through the pooler: the migration lock is transaction-scoped.
            async let a = first.migrate()
            async let b = second.migrate()
            let reports = try await [a, b]
            #expect(reports.map(\.applied.count).reduce(0, +) == PostgresSchema.latestVersion)

            let user = try await first.write { try $0.createUser(NewUser(username: "bounced")) }
            try await incrementConcurrently(user.id, times: 16, alternating: [first, second])
            let read = try await second.read { try $0.user(named: "BOUNCED") }
            #expect(read?.failedLoginCount == 16 && read?.displayName == "16", "writes stay serialized")
            await #expect(throws: StoreError.conflict) {
                _ = try await first.write { try $0.createUser(NewUser(username: "bounced")) }
            }
            #expect(try await first.schemaStatus().isReady)
        } catch {
            await first.close()
            await second.close()
            throw error
        }
        await first.close()
        await second.close()
    }
}
