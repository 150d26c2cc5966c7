import Configuration
import Diagnostics
import Foundation
import HTTPCore
import SQLiteStorage
import Storage
import Testing

@testable import ServerApp

/// `/readyz`: which database, which schema and which leases, as text or JSON, never with credentials.
@Suite struct ReadinessTests {
    private func request(_ target: String, accept: String? = nil) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let accept { headers.add(name: "Accept", value: accept) }
        let query = target.contains("?format=json") ? [(name: "format", value: "json")] : []
        return HTTPRequest(
            head: HTTPRequestHead(method: .get, target: target, path: "/readyz", query: query, headers: headers))
    }

    @Test func aPostgresDatabaseIsNamedByHostPortAndDatabaseWithoutTheUserOrPassword() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readyz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("url").path
        try "postgres://portcullis:s3cr3t-pw@db.internal:5433/registry?sslmode=verify-full\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        var storage = StorageSettings()
        storage.driver = .postgres
        storage.postgres.url = Secret(.file(file))
        let described = Readiness.describe(storage)
        #expect(described.map(\.0) == ["driver", "host", "port", "database"])
        #expect(described.map(\.1) == ["postgres", "db.internal", "5433", "registry"])
        #expect(!described.contains { $0.1.contains("s3cr3t") || $0.1.contains("portcullis") })
    }

    @Test(arguments: [("/readyz?format=json", nil), ("/readyz", "application/json")] as [(String, String?)])
    func jsonNamesTheDatabaseTheSchemaAndTheLeasesHeld(target: String, accept: String?) async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        let leases = JobLeases(
            store: store, holder: "serve@test/1/abc", duration: .seconds(30), logger: Logger(label: "t", level: .error))
        #expect(await leases.runsHere("catalog-sync:local"))
        var configuration = PortcullisConfiguration()
        configuration.storage.sqlite.path = "var/portcullis.sqlite3"
        let readiness = Readiness(
            configuration: configuration, store: store, auditHealth: nil, leases: leases,
            logger: Logger(label: "t", level: .error))
        let response = await readiness.answer(request(target, accept: accept))
        await store.close()
        #expect(response.status == .ok)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["ready"] as? Bool == true)
        #expect(object["database"] as? [String: String] == ["driver": "sqlite", "path": "var/portcullis.sqlite3"])
        let schema = try #require(object["schema"] as? [String: Int])
        #expect(schema["version"] == SQLiteStore.latestSchemaVersion && schema["expected"] == schema["version"])
        #expect(object["instance"] as? String == "serve@test/1/abc")
        let held = try #require(object["leases"] as? [[String: Any]])
        #expect(held.map { $0["name"] as? String } == ["catalog-sync:local"])
        #expect(held.first?["epoch"] as? Int == 1)
    }

    @Test func theTextAnswerKeepsReadyOnItsFirstLine() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        let readiness = Readiness(
            configuration: PortcullisConfiguration(), store: store, auditHealth: nil, leases: nil,
            logger: Logger(label: "t", level: .error))
        let response = await readiness.answer(request("/readyz"))
        await store.close()
        let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "ready")
        #expect(lines.contains("database: driver=sqlite path=var/portcullis.sqlite3"))
        #expect(lines.last == "leases held: none")
    }
}
