import Foundation
import Storage
import TestSupport
import Testing

/// Claims on the shared queues (migration 20), with several store handles on one database standing for several
/// instances, on both backends: concurrent claimers never share an item, one repository's events are handed out
/// one at a time, an expired claim is taken over, and work finished under a lost claim records nothing. Every
/// lease time is given, so nothing here waits for a clock.
@Suite(.storeBackends("QueueClaimTests")) struct QueueClaimTests {
    static let start = Date(timeIntervalSince1970: 2_000_000_000)

    /// Stores one pending event per `(eventID, repository)`, in order.
    private func store(_ events: [(String, String)], in store: any Store) async throws -> [RegistryEvent.ID] {
        try await store.write { writer in
            try events.map { id, repository in
                try writer.recordRegistryEvent(eventID: id, registry: "main", repository: repository, payload: "{}")
                    .event.id
            }
        }
    }

    private func claimEvents(
        _ store: any Store, _ holder: String, at offset: TimeInterval, lease: TimeInterval = 30, limit: Int = 100
    ) async throws -> [ClaimedRegistryEvent] {
        try await store.claim {
            try $0.claimRegistryEvents(
                limit: limit, holder: holder, leaseUntil: Self.start + offset + lease, at: Self.start + offset)
        }
    }

    private func finish(_ store: any Store, _ claimed: ClaimedRegistryEvent) async throws -> Bool {
        let (id, claim) = (claimed.event.id, claimed.claim)
        return try await store.write {
            try $0.finishRegistryEvent(id, under: claim, state: .processed, error: nil)
        }
    }

    /// Runs one claiming loop per store, all at once, each calling `claim` until it gets nothing; returns every id
    /// handed out. A new holder name each round: a worker may claim its own live events again (after a pass that
    /// failed), and these claims are never finished.
    private func claimConcurrently<ID: Sendable>(
        _ stores: [any Store], _ claim: @escaping @Sendable (any Store, String) async throws -> [ID]
    ) async throws -> [ID] {
        try await withThrowingTaskGroup(of: [ID].self) { group in
            for (index, handle) in stores.enumerated() {
                group.addTask {
                    var mine: [ID] = []
                    for round in 0... {
                        let batch = try await claim(handle, "instance-\(index)/\(round)")
                        if batch.isEmpty { break }
                        mine += batch
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [ID]()) { $0 += $1 }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func threeInstancesClaimingAtOnceNeverGetTheSameEvent(_ backend: StoreBackend) async throws {
        try await backend.withStores(3) { stores in
            let ids = try await store((0..<300).map { ("e\($0)", "team/app\($0)") }, in: stores[0])
            let all = try await claimConcurrently(stores) { handle, holder in
                try await claimEvents(handle, holder, at: 0, limit: 7).map(\.event.id)
            }
            #expect(all.count == 300, "no event was handed out twice")
            #expect(Set(all) == Set(ids), "every event was handed out")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func onlyTheOldestPendingEventOfARepositoryIsClaimed(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            let ids = try await store(
                [("x1", "team/x"), ("x2", "team/x"), ("y1", "team/y"), ("x3", "team/x")], in: a)
            let first = try await claimEvents(a, "a", at: 0)
            #expect(first.map(\.event.id) == [ids[0], ids[2]], "one event per repository, oldest first")
            #expect(try await claimEvents(b, "b", at: 1).isEmpty, "x2 waits behind x1, which a holds")
            #expect(try await finish(a, first[0]))
            let next = try await claimEvents(b, "b", at: 2)
            #expect(next.map(\.event.id) == [ids[1]], "x2 is next once x1 is done, whoever takes it")
            #expect(try await finish(b, next[0]))
            #expect(try await claimEvents(a, "c", at: 3).map(\.event.id) == [ids[3]])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func anExpiredClaimIsTakenOverAndTheLostClaimFinishesNothing(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            let ids = try await store([("e1", "team/app")], in: a)
            let mine = try #require(try await claimEvents(a, "a", at: 0, lease: 10).first)
            #expect(mine.claim == QueueClaim(holder: "a", number: 1))
            #expect(try await claimEvents(b, "b", at: 9).isEmpty, "the lease is live")
            let theirs = try #require(try await claimEvents(b, "b", at: 10).first, "the lease ran out")
            #expect(theirs.event.id == ids[0] && theirs.claim == QueueClaim(holder: "b", number: 2))
            #expect(try await finish(a, mine) == false, "a lost the event to b")
            #expect(try await a.read { try $0.registryEvents(in: .pending, limit: 10).map(\.id) } == ids)
            #expect(try await finish(b, theirs))
            #expect(try await finish(b, theirs) == false, "finished once")
            let done = try await a.read { try $0.registryEvents(in: .processed, limit: 10) }
            #expect(done.map(\.id) == ids && done.first?.attempts == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aWorkerClaimsItsOwnLiveEventsAgainAfterAFailedPass(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, _ in
            _ = try await store([("e1", "team/app")], in: a)
            let before = try #require(try await claimEvents(a, "a", at: 0).first)
            let again = try #require(try await claimEvents(a, "a", at: 1).first)
            #expect(again.claim.number == before.claim.number + 1)
            #expect(try await finish(a, before) == false, "the older claim is spent")
            #expect(try await finish(a, again))
        }
    }

    // MARK: Webhook deliveries

    /// A webhook in a fresh namespace with `count` deliveries due at `start`.
    private func queueDeliveries(_ count: Int, in store: any Store) async throws -> [WebhookDelivery.ID] {
        try await store.write { writer in
            let team = try writer.createTeam(name: "owners")
            let namespace = try writer.createNamespace(name: "hooked", team: team.id, visibility: .private)
            let webhook = try writer.createWebhook(
                NewWebhook(
                    namespaceID: namespace.id, url: "https://hooks.example/in", format: .json, events: [.push],
                    secret: "s3cret"))
            return try (0..<count).map { index in
                try writer.enqueueWebhookDelivery(
                    NewWebhookDelivery(
                        webhookID: webhook.id, changeID: "c\(index)", event: .push, contentType: "application/json",
                        body: "{}", notBefore: Self.start)
                ).id
            }
        }
    }

    private func claimDeliveries(
        _ store: any Store, _ holder: String, at offset: TimeInterval, lease: TimeInterval = 30, limit: Int = 100
    ) async throws -> [ClaimedWebhookDelivery] {
        try await store.claim {
            try $0.claimDueWebhookDeliveries(
                at: Self.start + offset, limit: limit, holder: holder, leaseUntil: Self.start + offset + lease)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func threeInstancesClaimingDeliveriesAtOnceNeverGetTheSameOne(_ backend: StoreBackend) async throws {
        try await backend.withStores(3) { stores in
            let ids = try await queueDeliveries(120, in: stores[0])
            let all = try await claimConcurrently(stores) { handle, holder in
                try await claimDeliveries(handle, holder, at: 0, limit: 4).map(\.delivery.id)
            }
            #expect(all.count == 120, "no delivery was handed out twice")
            #expect(Set(all) == Set(ids), "every delivery was handed out")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func anExpiredDeliveryClaimIsTakenOverAndTheLateAttemptIsNotRecorded(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            let ids = try await queueDeliveries(1, in: a)
            let mine = try #require(try await claimDeliveries(a, "a", at: 0, lease: 70).first)
            #expect(try await claimDeliveries(b, "b", at: 69).isEmpty, "the lease is live")
            let theirs = try #require(try await claimDeliveries(b, "b", at: 70, lease: 70).first)
            #expect(theirs.delivery.id == ids[0] && theirs.claim == QueueClaim(holder: "b", number: 2))
            @Sendable func result(at offset: TimeInterval) -> WebhookAttemptResult {
                WebhookAttemptResult(
                    deliveryID: ids[0], attemptedAt: Self.start + offset, status: 204, latencyMilliseconds: 5,
                    responseExcerpt: nil, error: nil, newState: .delivered, nextAttemptAt: nil)
            }
            #expect(try await a.write { try $0.recordWebhookAttempt(result(at: 1), under: mine.claim) } == nil)
            let recorded = try await b.write { try $0.recordWebhookAttempt(result(at: 71), under: theirs.claim) }
            #expect(recorded?.state == .delivered && recorded?.attempts == 1)
            #expect(try await b.write { try $0.recordWebhookAttempt(result(at: 72), under: theirs.claim) } == nil)
            let log = try await a.read { try $0.webhookAttempts(of: ids[0]) }
            #expect(log.map(\.number) == [1] && log.first?.attemptedAt == Self.start + 71)
        }
    }
}
