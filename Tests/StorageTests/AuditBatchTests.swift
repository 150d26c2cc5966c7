import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// Batched audit inserts: many events in one write keep their order and fields, and a bad one stores none.
@Suite(.storeBackends("AuditBatchTests")) struct AuditBatchTests {
    @Test(arguments: StoreBackend.allCases, [1, 63, 64, 65, 200])
    func aBatchIsStoredInOrderWithEveryField(_ backend: StoreBackend, count: Int) async throws {
        try await backend.withStore { store in
            let events = (0..<count).map { index in
                NewAuditEvent(
                    action: "token.issue", outcome: index % 2 == 0 ? .success : .denied, actorName: "u\(index)",
                    target: "service:s", clientIP: "10.0.0.\(index % 250)", detail: #"{"n":\#(index)}"#,
                    time: Date(timeIntervalSince1970: 1_800_000_000 + Double(index)))
            }
            let ids = try await store.write { try $0.appendAuditEvents(events) }
            let stored = try await store.read { try $0.auditEvents(limit: 1000, before: nil) }.reversed()
            #expect(stored.count == count)
            #expect(stored.map(\.id) == ids)
            #expect(stored.map(\.actorName) == events.map(\.actorName))
            #expect(stored.map(\.outcome) == events.map(\.outcome))
            #expect(stored.map(\.detail) == events.map(\.detail))
            #expect(stored.map(\.clientIP) == events.map(\.clientIP))
            #expect(stored.map(\.time) == events.map { $0.time! })
            #expect(zip(stored, stored.dropFirst()).allSatisfy { $0.id.rawValue < $1.id.rawValue })
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aNULInARecordedNameIsKeptAsAReplacementCharacterSoTheRecordIsNeverRefused(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let hostile = NewAuditEvent(
                action: "login.failed", outcome: .failure, actorName: "alice\u{0}x", target: "user:alice\u{0}x",
                detail: #"{"why":"\u0000"}"#)
            let single = try await store.write { try $0.appendAuditEvent(hostile) }
            _ = try await store.write { try $0.appendAuditEvents([hostile, hostile]) }
            let stored = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
            #expect(stored.count == 3)
            #expect(stored.allSatisfy { $0.actorName == "alice\u{FFFD}x" && $0.target == "user:alice\u{FFFD}x" })
            #expect(stored.allSatisfy { $0.detail == #"{"why":"\u0000"}"# }, "JSON's escaped NUL is text, kept")
            #expect(single.actorName == "alice\u{FFFD}x", "the event handed back is the one recorded")
        }
    }

    @Test(arguments: StoreBackend.allCases) func aBatchWithAnInvalidEventStoresNothing(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let events =
                (0..<10).map { NewAuditEvent(action: "token.issue", outcome: .success, target: "t\($0)") }
                + [NewAuditEvent(action: "", outcome: .success)]
            await #expect(throws: StoreError.self) { try await store.write { try $0.appendAuditEvents(events) } }
            let stored = try await store.read { try $0.auditEvents(limit: 100, before: nil) }
            #expect(stored.isEmpty)
        }
    }
}
