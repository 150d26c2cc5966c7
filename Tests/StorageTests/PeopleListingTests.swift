import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// The admin pages' account search and the audit log's outcome filter, over SQLite.
@Suite(.storeBackends("PeopleListingTests")) struct PeopleListingTests {
    @Test(
        "Accounts are found by a literal, case-insensitive part of their username, e-mail or display name",
        arguments: StoreBackend.allCases,
        [
            ("OLI", ["olivia"]), ("example.org", ["carl", "olivia"]), ("Nguyen", ["carl"]), ("%", []),
            ("_", ["ops_bot"]), ("", ["carl", "olivia", "ops_bot"]),
        ])
    func accountsMatch(_ backend: StoreBackend, _ search: (text: String, expected: [String])) async throws {
        let (text, expected) = search
        try await backend.withStore { store in
            let page = try await store.write { writer in
                _ = try writer.createUser(NewUser(username: "olivia", email: "olivia@example.org"))
                _ = try writer.createUser(
                    NewUser(username: "carl", email: "carl@example.org", displayName: "Carl Nguyen"))
                _ = try writer.createUser(NewUser(username: "ops_bot"))
                return try writer.userPage(matching: text, offset: 0, limit: 10)
            }
            #expect(page.items.map(\.username) == expected)
            #expect(page.total == expected.count)
        }
    }

    @Test("A page of accounts holds at most its limit and counts them all", arguments: StoreBackend.allCases)
    func accountsArePaged(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (first, second) = try await store.write { writer in
                for index in 0..<7 { _ = try writer.createUser(NewUser(username: "user\(index)")) }
                return (
                    try writer.userPage(matching: "user", offset: 0, limit: 5),
                    try writer.userPage(matching: "user", offset: 5, limit: 5)
                )
            }
            #expect(first.items.count == 5 && first.total == 7)
            #expect(second.items.map(\.username) == ["user5", "user6"])
        }
    }

    @Test("The audit log filters by outcome", arguments: StoreBackend.allCases)
    func auditOutcome(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let denied = try await store.write { writer in
                _ = try writer.appendAuditEvent(NewAuditEvent(action: "ui.sign_in", outcome: .denied))
                _ = try writer.appendAuditEvent(NewAuditEvent(action: "ui.sign_in", outcome: .success))
                _ = try writer.appendAuditEvent(NewAuditEvent(action: "team.create", outcome: .denied))
                return try writer.auditEvents(matching: AuditEventFilter(outcome: .denied), offset: 0, limit: 10)
            }
            #expect(denied.total == 2)
            #expect(denied.events.allSatisfy { $0.outcome == .denied })
        }
    }
}
