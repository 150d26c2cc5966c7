import Foundation
import TestSupport
import Testing
import Threading

/// Two real `portcullis serve` processes on one database (one SQLite file, or one PostgreSQL database), on
/// loopback ports, against a fake registry that counts catalog listings: the catalog sync runs on the instance
/// holding its lease only, and when that instance is killed (SIGKILL: no goodbye) the other takes the lease over
/// and syncs on.
@Suite(.serialized) struct SeveralInstancesTests {
    /// The threads the blocking libpq calls of these tests run on.
    static let pool = BlockingPool(name: "several-instances-tests", threads: 1)

    struct Instance {
        let process: BackgroundProcess
        let port: Int

        /// The names of the leases `/readyz` says this instance holds, with their epochs.
        func heldLeases() async -> [String: Int] {
            guard let answer = try? await httpGet(port: port, path: "/readyz?format=json"),
                let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                let leases = object["leases"] as? [[String: Any]]
            else { return [:] }
            var held: [String: Int] = [:]
            for lease in leases {
                if let name = lease["name"] as? String, let epoch = lease["epoch"] as? Int { held[name] = epoch }
            }
            return held
        }

        /// How many catalog syncs this instance ran, from its log.
        var catalogSyncRuns: Int {
            let log = (try? String(contentsOf: process.logFile, encoding: .utf8)) ?? ""
            return log.split(separator: "\n").count {
                $0.contains("background job ran") && $0.contains("catalog-sync:local")
            }
        }
    }

    private func serve(_ sandbox: Sandbox, _ label: String, _ environment: [String: String]) async throws -> Instance {
        let (process, port) = try await sandbox.serve(
            label, environment: environment.merging(["PORTCULLIS_LOG_LEVEL": "debug"]) { $1 })
        return Instance(process: process, port: port)
    }

    @Test(arguments: StoreBackend.allCases)
    func theCatalogSyncRunsOnTheLeaseHolderOnlyAndMovesToTheOtherInstanceWhenTheHolderIsKilled(
        _ backend: StoreBackend
    ) async throws {
        var environment: [String: String] = [:]
        var postgres: PostgresServer?
        defer { postgres?.remove() }
        if backend == .postgres {
            guard PostgresServer.shouldRun else { return }
            let server = try await PostgresServer.start(label: "instances")
            postgres = server
            environment["TEST_DATABASE_URL"] = try await Self.pool.run { try server.createDatabase("instances") }
        }
        let registry = try FakeCatalogRegistry()
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        if backend == .postgres { try sandbox.selectPostgres() }
        try sandbox.writeConfig(
            "55-instances.yaml",
            """
            registries:
              - name: local
                url: "\(registry.url)"
            catalogSync:
              interval: 10s
            storage:
              leaseDuration: 3s
            """)
        // One after the other: the first creates the signing key and the database the second finds.
        let a = try await serve(sandbox, "a", environment)
        defer { if a.process.isRunning { a.process.stop() } }
        let b = try await serve(sandbox, "b", environment)
        defer { if b.process.isRunning { b.process.stop() } }

        let synced = try await waitUntil(seconds: 120) { registry.catalogRequests >= 3 }
        try #require(synced, "three syncs never ran\n\(a.process.logTail())\n\(b.process.logTail())")
        let (aHeld, bHeld) = (await a.heldLeases(), await b.heldLeases())
        #expect(
            (aHeld["catalog-sync:local"] == nil) != (bHeld["catalog-sync:local"] == nil),
            "exactly one instance holds the lease: \(aHeld) \(bHeld)")
        let (holder, other) = aHeld["catalog-sync:local"] != nil ? (a, b) : (b, a)
        #expect(holder.catalogSyncRuns >= 3, "\(holder.process.logTail())")
        #expect(other.catalogSyncRuns == 0, "the other instance never synced\n\(other.process.logTail())")

        kill(holder.process.pid, SIGKILL)
        let before = registry.catalogRequests
        let tookOver = try await waitUntil(seconds: 60) { await other.heldLeases()["catalog-sync:local"] != nil }
        try #require(tookOver, "the lease never moved\n\(other.process.logTail())")
        #expect((await other.heldLeases()["catalog-sync:local"] ?? 0) >= 2, "a new holder, a greater epoch")
        let resumed = try await waitUntil(seconds: 60) { registry.catalogRequests > before }
        #expect(resumed, "the survivor never synced\n\(other.process.logTail())")
        // The registry answers the listing before the survivor logs the finished run: wait for the line.
        #expect(try await waitUntil(seconds: 60) { other.catalogSyncRuns >= 1 }, "\(other.process.logTail())")
        await registry.stop()
    }
}
