import Diagnostics
import Foundation
import SQLiteStorage
import Storage
import Testing
import TokenAuthority

@Suite struct AuditRecorderTests {
    private func openStore() async throws -> SQLiteStore {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        return store
    }

    @Test func concurrentEventsAreAllCommittedBeforeTheirCallersResume() async throws {
        let store = try await openStore()
        let recorder = StoreAuditRecorder(store: store, logger: Logger(label: "test", level: .error))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    await recorder.record(NewAuditEvent(action: "token.issue", outcome: .success, target: "n\(index)"))
                }
            }
        }
        let stored = try await store.read { try $0.auditEvents(limit: 1000, before: nil) }
        #expect(stored.count == 200)
        #expect(Set(stored.compactMap(\.target)).count == 200)
        await store.close()
    }

    @Test func anEventThatCannotBeStoredDoesNotCostTheOthersInItsBatch() async throws {
        let store = try await openStore()
        let recorder = StoreAuditRecorder(store: store, logger: Logger(label: "test", level: .error))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    // Actor 999999 does not exist: that event violates the foreign key.
                    let actor: User.ID? = index == 25 ? User.ID(999_999) : nil
                    await recorder.record(
                        NewAuditEvent(action: "token.issue", outcome: .success, actorID: actor, target: "n\(index)"))
                }
            }
        }
        let stored = try await store.read { try $0.auditEvents(limit: 1000, before: nil) }
        #expect(stored.count >= 49)
        await store.close()
    }
}
