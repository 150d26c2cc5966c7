import Foundation
import Storage
import TestSupport
import Testing
import TokenAuthority

private let now = Date(timeIntervalSince1970: 1_800_000_000)
private let day: TimeInterval = 86_400

@Suite(.storeBackends("AuditPrunerTests")) struct AuditPrunerTests {
    @Test(arguments: StoreBackend.allCases) func eachClassIsPrunedPastItsOwnRetentionInBatchesOfTheGivenSize(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            // 25 issuances 40 days old, 5 a day old; 7 denials and 3 refused logins 100 days old, 2 a day
            // old; 4 administration events 400 days old and 6 a day old.
            var events: [NewAuditEvent] = []
            func add(_ count: Int, _ action: String, _ outcome: AuditOutcome, daysAgo: Double) {
                for index in 0..<count {
                    events.append(
                        NewAuditEvent(
                            action: action, outcome: outcome, target: "t\(events.count)",
                            time: now.addingTimeInterval(-daysAgo * day + Double(index))))
                }
            }
            // CI jobs' logins and refreshes are token requests too.
            add(20, "token.issue", .success, daysAgo: 40)
            add(5, "workload.login", .success, daysAgo: 40)
            add(5, "token.issue", .success, daysAgo: 1)
            add(5, "token.issue", .denied, daysAgo: 100)
            add(2, "workload.refresh", .denied, daysAgo: 100)
            add(3, "login.password", .denied, daysAgo: 100)
            add(2, "token.issue", .failure, daysAgo: 1)
            add(4, "user.create", .success, daysAgo: 400)
            add(6, "webhook.create", .success, daysAgo: 1)
            var generator = FixedGenerator()
            let shuffled = events.shuffled(using: &generator)
            try await store.write { _ = try $0.appendAuditEvents(shuffled) }

            let pruner = AuditPruner(
                store: store,
                retention: [.tokenIssued: .seconds(30 * 86_400), .tokenDenied: .seconds(90 * 86_400), .admin: .zero],
                batchSize: 10, now: { now })
            let (deleted, batches) = try await pruner.run()
            #expect(deleted[.tokenIssued] == 25)
            #expect(deleted[.tokenDenied] == 10)
            #expect(deleted[.admin] == nil, "a zero retention keeps the class for ever")
            // 25 rows in batches of 10: 10, 10, 5; 10 rows: 10, then an empty batch that proves none are left.
            #expect(batches == 5)
            let left = try await store.read { try $0.auditEvents(limit: 1000, before: nil) }
            #expect(left.count == 17, "5 recent issuances, 2 recent failures, 4 old and 6 recent administration events")
            #expect(left.allSatisfy { $0.action != "login.password" })

            // A second run finds nothing more.
            let again = try await pruner.run()
            #expect(again.deleted.values.reduce(0, +) == 0)
        }
    }

    @Test(arguments: [
        ("token.issue", AuditOutcome.success, AuditEventClass.tokenIssued),
        ("token.issue", .denied, .tokenDenied), ("token.issue", .failure, .tokenDenied),
        ("login.password", .denied, .tokenDenied), ("login.application_token", .denied, .tokenDenied),
        ("user.create", .success, .admin), ("tag.push", .success, .admin), ("webhook.delete", .failure, .admin),
        ("workload.login", .success, .tokenIssued), ("workload.login", .denied, .tokenDenied),
        ("workload.refresh", .success, .tokenIssued), ("workload.refresh", .failure, .tokenDenied),
    ])
    func everyEventBelongsToTheClassItsActionAndOutcomeName(
        action: String, outcome: AuditOutcome, expected: AuditEventClass
    ) {
        #expect(AuditEventClass.of(action: action, outcome: outcome) == expected)
    }
}

/// A fixed sequence, so the shuffled insert order is the same on every run.
private struct FixedGenerator: RandomNumberGenerator {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}
