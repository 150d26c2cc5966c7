import Foundation
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing

@testable import ServerApp

private let old = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28
private let recent = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15

/// The sandbox's database, migrated, with 3 old issuances (one standing for 5 requests), 2 old
/// administration events and 2 recent issuances.
private func populate(_ sandbox: Sandbox) async throws -> String {
    let path = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
    try FileManager.default.createDirectory(
        at: sandbox.root.appendingPathComponent("var"), withIntermediateDirectories: true)
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
    _ = try await store.migrate()
    try await store.write { writer in
        let ids = try writer.appendAuditEvents(
            (0..<3).map { index in
                NewAuditEvent(
                    action: "token.issue", outcome: .success, actorName: "alice", target: "service:registry.local",
                    clientIP: "203.0.113.7", detail: #"{"service":"registry.local","n":\#(index)}"#,
                    time: old.addingTimeInterval(Double(index)))
            } + [
                NewAuditEvent(
                    action: "user.create", outcome: .success, actorName: "root", target: "user:bob", time: old),
                NewAuditEvent(action: "webhook.delete", outcome: .failure, target: "webhook:3", time: old),
                NewAuditEvent(action: "token.issue", outcome: .success, actorName: "alice", time: recent),
                NewAuditEvent(action: "token.issue", outcome: .denied, actorName: "mallory", time: recent),
            ])
        try writer.addAuditRepeats([AuditRepeat(id: ids[0], count: 4, lastTime: old.addingTimeInterval(50))])
    }
    await store.close()
    return path
}

private func storedEvents(_ path: String) async throws -> [AuditEvent] {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
    let events = try await store.read { try $0.auditEvents(limit: 1000, before: nil) }
    await store.close()
    return events.reversed()
}

private func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

@Suite(.timeLimit(.minutes(10))) struct AuditArchiveTests {
    @Test func anArchiveHoldsEveryEventBeforeTheDateOnePerLineWithCountsAndThoseRowsAreGone() async throws {
        let sandbox = try Sandbox()
        let database = try await populate(sandbox)
        let output = sandbox.root.appendingPathComponent("archive.jsonl").path
        let result = try await sandbox.portcullis(["audit", "archive", "--before", "2026-12-31", "--output", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("archived 5 audit events (9 requests counted)"), "\(result.stdout)")

        let text = try String(contentsOfFile: output, encoding: .utf8)
        let lines = try jsonLines(text)
        #expect(lines.count == 5)
        #expect(
            lines.compactMap { $0["action"] as? String } == [
                "token.issue", "token.issue", "token.issue", "user.create", "webhook.delete",
            ])
        #expect(lines[0]["count"] as? Int == 5)
        #expect(lines[0]["time"] as? String == "2026-05-28T20:26:40Z")
        #expect(lines[0]["lastTime"] as? String == "2026-05-28T20:27:30Z")
        #expect(lines[0]["detail"] as? String == #"{"service":"registry.local","n":0}"#)
        #expect(lines[1]["count"] as? Int == 1)
        #expect(lines[1]["lastTime"] == nil)
        #expect(lines[4]["outcome"] as? String == "failure")
        let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let left = try await storedEvents(database)
        #expect(left.map(\.time) == [recent, recent])
    }

    @Test func aGzipArchiveDecompressesToTheSameLines() async throws {
        let sandbox = try Sandbox()
        let database = try await populate(sandbox)
        let output = sandbox.root.appendingPathComponent("archive.jsonl.gz").path
        let result = try await sandbox.portcullis([
            "audit", "archive", "--before", "2030-01-01T00:00:00Z", "--output", output, "--gzip",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let unpacked = try await Processes.run("/usr/bin/env", ["gzip", "-dc", output])
        #expect(unpacked.status == 0)
        let lines = try jsonLines(unpacked.stdout)
        #expect(lines.count == 7)
        #expect(lines.last?["actor"] as? String == "mallory")
        #expect(try await storedEvents(database).isEmpty)
    }

    @Test func nothingIsDeletedWhenTheArchiveCannotBeWritten() async throws {
        let sandbox = try Sandbox()
        let database = try await populate(sandbox)
        // A directory that does not exist, and an existing file that must not be replaced.
        let missing = sandbox.root.appendingPathComponent("no-such-directory/archive.jsonl").path
        let existing = sandbox.root.appendingPathComponent("earlier.jsonl").path
        try "keep me\n".write(toFile: existing, atomically: true, encoding: .utf8)
        for output in [missing, existing] {
            let result = try await sandbox.portcullis([
                "audit", "archive", "--before", "2030-01-01", "--output", output,
            ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("cannot create"), "\(result.stderr)")
        }
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me\n")
        #expect(try await storedEvents(database).count == 7)
    }

    @Test(arguments: [["--output", "x.jsonl"], ["--before", "yesterday"], ["--before", "2026-13-01"]])
    func aMissingOrInvalidDateIsAUsageError(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        _ = try await populate(sandbox)
        let result = try await sandbox.portcullis(["audit", "archive"] + arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(try await storedEvents(sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path).count == 7)
    }
}

/// Holds the database's write lock from this process until `release()`, as a stuck writer or a full disk
/// would keep the server's audit writes from committing.
private final class WriteLockHolder: Sendable {
    private let gate = DispatchSemaphore(value: 0)
    private let task: Task<Void, any Error>

    init(_ store: SQLiteStore) async {
        let (entered, continuation) = AsyncStream.makeStream(of: Void.self)
        let gate = gate
        task = Task {
            try await store.write { _ in
                continuation.yield()
                _ = gate.wait(timeout: .now() + 60)
            }
        }
        for await _ in entered { break }
    }

    func release() async throws {
        gate.signal()
        try await task.value
    }
}

@Suite(.timeLimit(.minutes(10))) struct AuditReadinessTests {
    @Test func tokensGoOnWhileAuditWritesFailAndReadinessAndMetricsSaySoUntilTheyRecover() async throws {
        let sandbox = try Sandbox()
        let port = try freePort()
        let server = try sandbox.start(
            ["serve"],
            environment: [
                "PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)",
                // The server's audit write gives up after 200 ms instead of the default 5 s.
                "PORTCULLIS_STORAGE_SQLITE_BUSY_TIMEOUT": "200ms",
            ])
        defer { if server.isRunning { server.terminate() } }
        _ = try await waitForHTTP(port: port, path: "/healthz")
        #expect(try await httpGet(port: port, path: "/readyz").status == 200)

        let path = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path), busyTimeout: .seconds(10)))
        let lock = await WriteLockHolder(store)
        let token = try await httpGet(port: port, path: "/v2/token?service=registry.local")
        #expect(token.status == 200, "queued audit: the token goes out while its event cannot be written")
        #expect(token.body.contains("\"token\""))
        var ready = try await httpGet(port: port, path: "/readyz")
        for _ in 0..<200 where ready.status == 200 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await httpGet(port: port, path: "/readyz")
        }
        #expect(ready.status == 503)
        #expect(ready.body.contains("audit"), "\(ready.body)")
        let metrics = try await httpGet(port: port, path: "/metrics")
        #expect(metrics.body.contains("portcullis_audit_write_failures_total 1"), "\(metrics.body)")
        #expect(metrics.body.contains("portcullis_audit_failing 1"))

        try await lock.release()
        await store.close()
        _ = try await httpGet(port: port, path: "/v2/token?service=registry.local")
        for _ in 0..<200 where ready.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await httpGet(port: port, path: "/readyz")
        }
        #expect(ready.status == 200, "\(ready.body)")
        kill(server.pid, SIGTERM)
        #expect(await waitForExit(server, seconds: 20))
    }
}

@Suite struct AuditCountColumnsTests {
    private let coalesced = AuditEvent(
        id: AuditEvent.ID(7), time: old, actorID: nil, actorName: "alice", action: "token.issue",
        target: "service:registry.local", outcome: .success, clientIP: "203.0.113.7", detail: "{}", count: 12,
        lastTime: old.addingTimeInterval(59))

    @Test func tailShowsTheCountAndLastTimeOfACoalescedLineOnly() {
        #expect(AuditCommands.line(coalesced).hasSuffix("  count=12 last=2026-05-28T20:27:39Z"))
        var single = coalesced
        single.count = 1
        single.lastTime = nil
        #expect(!AuditCommands.line(single).contains("count="))
    }

    @Test func theCSVExportCarriesCountAndLastTimeColumns() {
        #expect(AuditCommands.columns.suffix(2) == ["count", "last_time"])
        #expect(AuditCommands.fields(coalesced).suffix(2) == ["12", "2026-05-28T20:27:39Z"])
    }

    @Test func anArchiveLineIsOneJSONObjectWithEveryStoredField() throws {
        let line = AuditArchiveCommand.jsonLine(coalesced)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["count"] as? Int == 12)
        #expect(object["clientIP"] as? String == "203.0.113.7")
        #expect(object["actorID"] == nil)
    }
}
