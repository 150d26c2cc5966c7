import Administration
import CryptoCore
import Foundation
import SQLiteStorage
import Storage
import Testing
import Threading

/// A real store that counts the transactions it is asked for, to show what resolving a cookie costs.
private final class CountingStore: Store, @unchecked Sendable {
    let base: any Store
    private let lock = NSLock()
    private var counts = (reads: 0, writes: 0)

    init(_ base: any Store) { self.base = base }

    var reads: Int { lock.withLock { counts.reads } }
    var writes: Int { lock.withLock { counts.writes } }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        lock.withLock { counts.reads += 1 }
        return try await base.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        lock.withLock { counts.writes += 1 }
        return try await base.write(body)
    }

    func migrate() async throws -> MigrationReport { try await base.migrate() }
    func schemaStatus() async throws -> SchemaStatus { try await base.schemaStatus() }
    func close() async { await base.close() }
    var authorizationGeneration: AuthorizationGeneration { base.authorizationGeneration }
    var authorizationCounterSeen: Int64? { base.authorizationCounterSeen }
}

extension ServiceFixture {
    func sessions(idle: TimeInterval = 3600, absolute: TimeInterval = 4 * 3600, store: (any Store)? = nil)
        -> WebSessionService
    {
        WebSessionService(
            store: store ?? self.store, timeouts: WebSessionTimeouts(idle: idle, absolute: absolute),
            now: { [clock] in clock.now })
    }

    func accounts() -> AccountAdministration {
        AccountAdministration(store: store, hashing: Fixture.pool, now: { [clock] in clock.now })
    }

    func storedSession(_ id: WebSession.ID, of user: String) async throws -> WebSession? {
        let userID = users[user]!.id
        return try await store.read { try $0.webSessions(of: userID) }.first { $0.id == id }
    }
}

@Suite struct WebSessionServiceTests {
    @Test func aStartedSessionResolvesToItsUserWithAPerSessionCSRFToken() async throws {
        try await ServiceFixture.with { fixture in
            let alice = fixture.users["alice"]!
            let service = fixture.sessions()
            let started = try await service.start(for: alice.id, client: "Firefox", address: "127.0.0.1")
            let other = try await service.start(for: alice.id, client: nil, address: nil)
            #expect(started.cookieValue.hasPrefix("pcw_") && started.cookieValue.utf8.count == 47)
            #expect(started.cookieValue != other.cookieValue && started.session.id != other.session.id)
            #expect(started.session.csrfToken != other.session.csrfToken)
            #expect(!"\(started)".contains(started.cookieValue))
            #expect(!"\(started.session)".contains(started.session.csrfToken))

            let resolved = try #require(try await service.resolve(started.cookieValue))
            #expect(resolved.id == started.session.id && resolved.user.id == alice.id)
            #expect(resolved.caller == Caller.user(alice))
            #expect(resolved.expiresAt == ServiceFixture.start.addingTimeInterval(4 * 3600))
            #expect(resolved.acceptsCSRFToken(started.session.csrfToken))
            #expect(!resolved.acceptsCSRFToken(other.session.csrfToken) && !resolved.acceptsCSRFToken(""))

            // Only the hash is stored.
            let stored = try #require(try await fixture.storedSession(resolved.id, of: "alice"))
            #expect(stored.secretHash == Hex.encode(Digest.sha256(started.cookieValue)))
            let audit = try await fixture.audit("session.started")
            #expect(audit.count == 2 && audit[0].actorName == "alice" && audit[0].clientIP == "127.0.0.1")
        }
    }

    @Test func aSessionEndsAfterTheIdleTimeoutButActivityKeepsItAlive() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions(idle: 3600, absolute: 86_400)
            let cookie = try await service.start(for: fixture.users["bob"]!.id, client: nil, address: nil).cookieValue
            fixture.clock.advance(by: 3599)
            #expect(try await service.resolve(cookie) != nil)
            fixture.clock.advance(by: 3599)
            #expect(try await service.resolve(cookie) != nil, "the last request restarted the idle timeout")
            fixture.clock.advance(by: 3600)
            #expect(try await service.resolve(cookie) == nil)
        }
    }

    @Test func aSessionEndsAtItsAbsoluteTimeoutHoweverBusy() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions(idle: 3600, absolute: 3 * 3600)
            let cookie = try await service.start(for: fixture.users["bob"]!.id, client: nil, address: nil).cookieValue
            for _ in 0..<5 {
                fixture.clock.advance(by: 2000)
                #expect(try await service.resolve(cookie) != nil)
            }
            fixture.clock.advance(by: 800)  // 3 hours exactly since sign-in
            #expect(try await service.resolve(cookie) == nil)
            // A shorter limit configured later applies to sessions already started.
            let fresh = try await service.start(for: fixture.users["bob"]!.id, client: nil, address: nil).cookieValue
            fixture.clock.advance(by: 1800)
            #expect(try await fixture.sessions(idle: 3600, absolute: 1800).resolve(fresh) == nil)
            #expect(try await service.resolve(fresh) != nil)
        }
    }

    @Test func theLastSeenTimeIsWrittenAtMostOncePerInterval() async throws {
        try await ServiceFixture.with { fixture in
            let counting = CountingStore(fixture.store)
            let service = fixture.sessions(store: counting)
            let started = try await service.start(for: fixture.users["bob"]!.id, client: nil, address: nil)
            let writesAfterStart = counting.writes
            for _ in 0..<3 {
                fixture.clock.advance(by: 19)
                #expect(try await service.resolve(started.cookieValue)?.lastSeenAt == ServiceFixture.start)
            }
            #expect(counting.writes == writesAfterStart, "57 seconds of requests wrote nothing")
            #expect(try await fixture.storedSession(started.session.id, of: "bob")?.lastSeenAt == ServiceFixture.start)
            fixture.clock.advance(by: WebSessionService.touchInterval)
            let touched = try await service.resolve(started.cookieValue)
            #expect(touched?.lastSeenAt == fixture.clock.now)
            #expect(counting.writes == writesAfterStart + 1)
            #expect(try await fixture.storedSession(started.session.id, of: "bob")?.lastSeenAt == fixture.clock.now)
            _ = try await service.resolve(started.cookieValue)
            #expect(counting.writes == writesAfterStart + 1)
        }
    }

    static let malformed: [String] = [
        "", "pcw_", String(repeating: "a", count: 1_000_000), "pcw_" + String(repeating: "é", count: 43),
        "pcw_" + String(repeating: "A", count: 42) + "=", "pct_" + String(repeating: "A", count: 43),
        "PCW_" + String(repeating: "A", count: 43), "pcw_" + String(repeating: "A", count: 44),
        "pcw_" + String(repeating: "A", count: 42) + "\u{0}", " pcw_" + String(repeating: "A", count: 42),
    ]

    @Test(arguments: malformed)
    func aMalformedCookieResolvesToNothingWithoutTouchingTheStore(cookie: String) async throws {
        try await ServiceFixture.with { fixture in
            let counting = CountingStore(fixture.store)
            let service = fixture.sessions(store: counting)
            #expect(try await service.resolve(cookie) == nil)
            try await service.end(cookie)
            #expect(counting.reads == 0 && counting.writes == 0)
        }
    }

    @Test func aWellFormedUnknownCookieCostsOneReadAndNoWrite() async throws {
        try await ServiceFixture.with { fixture in
            let counting = CountingStore(fixture.store)
            let service = fixture.sessions(store: counting)
            let resolved = try await service.resolve("pcw_" + String(repeating: "A", count: 43))
            #expect(resolved == nil)
            #expect(counting.reads == 1 && counting.writes == 0)
        }
    }

    @Test func signingOutEndsTheSessionAndIsAudited() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let started = try await service.start(for: fixture.users["carol"]!.id, client: nil, address: nil)
            try await service.end(started.cookieValue)
            try await service.end(started.cookieValue)
            #expect(try await service.resolve(started.cookieValue) == nil)
            #expect(try await fixture.audit("session.ended").map(\.actorName) == ["carol"])
        }
    }

    @Test func signingInAgainEndsTheSessionTheBrowserHad() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let carol = fixture.users["carol"]!.id
            let before = try await service.start(for: carol, client: nil, address: nil)
            let after = try await service.start(
                for: carol, client: nil, address: nil, replacing: before.cookieValue)
            #expect(after.session.id != before.session.id)
            #expect(try await service.resolve(before.cookieValue) == nil)
            #expect(try await service.resolve(after.cookieValue) != nil)
        }
    }

    @Test func aDisabledOrDeletedAccountsSessionsStopWorking() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let alice = fixture.users["alice"]!, carol = fixture.users["carol"]!
            let aliceCookie = try await service.start(for: alice.id, client: nil, address: nil).cookieValue
            let carolCookie = try await service.start(for: carol.id, client: nil, address: nil).cookieValue

            // Disabled behind the services' back: the service checks the account on every request.
            try await fixture.store.write { try $0.setEnabled(false, for: alice.id) }
            #expect(try await service.resolve(aliceCookie) == nil)
            try await fixture.store.write { try $0.setEnabled(true, for: alice.id) }
            #expect(try await service.resolve(aliceCookie) != nil)
            // Disabled through the service: the sessions are ended, so enabling again does not revive them.
            _ = try await fixture.accounts().setEnabled(false, for: "alice", by: fixture.caller("root"))
            #expect(try await fixture.store.read { try $0.webSessions(of: alice.id) }.isEmpty)
            _ = try await fixture.accounts().setEnabled(true, for: "alice", by: fixture.caller("root"))
            #expect(try await service.resolve(aliceCookie) == nil)
            await #expect(throws: AdministrationError.self) {
                try await fixture.store.write { try $0.setEnabled(false, for: carol.id) }
                _ = try await service.start(for: carol.id, client: nil, address: nil)
            }
            try await fixture.store.write { try $0.setEnabled(true, for: carol.id) }

            try await fixture.store.write { try $0.deleteUser(carol.id) }
            #expect(try await service.resolve(carolCookie) == nil)
        }
    }

    @Test func aPasswordResetEndsTheAccountsSessionsButTheOwnChangeKeepsTheCurrentOne() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let bob = fixture.users["bob"]!
            let first = try await service.start(for: bob.id, client: nil, address: nil)
            let second = try await service.start(for: bob.id, client: nil, address: nil)
            try await fixture.accounts().setPassword(
                Password("correct horse"), for: "bob", by: fixture.caller("bob"), keeping: second.session.id)
            #expect(try await service.resolve(first.cookieValue) == nil)
            #expect(try await service.resolve(second.cookieValue) != nil)
            // An administrator's reset keeps nothing, whatever session it names.
            try await fixture.accounts().setPassword(
                Password("battery staple"), for: "bob", by: fixture.caller("root"), keeping: second.session.id)
            #expect(try await service.resolve(second.cookieValue) == nil)
        }
    }

    @Test func signingOutEverywhereKeepsTheCurrentSession() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let bob = fixture.users["bob"]!
            let cookies = try await (0..<3).asyncMap { _ in
                try await service.start(for: bob.id, client: nil, address: nil)
            }
            let alice = try await service.start(for: fixture.users["alice"]!.id, client: nil, address: nil)
            let ended = try await service.endAll(of: bob.id, except: cookies[2].session.id, by: fixture.caller("bob"))
            #expect(ended == 2)
            #expect(try await service.resolve(cookies[0].cookieValue) == nil)
            #expect(try await service.resolve(cookies[1].cookieValue) == nil)
            #expect(try await service.resolve(cookies[2].cookieValue) != nil)
            #expect(try await service.resolve(alice.cookieValue) != nil)
            #expect(try await fixture.audit("session.ended_everywhere").count == 1)
        }
    }

    @Test func aViewerCannotListOrEndAnotherUsersSessionsButAnAdministratorCan() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions()
            let alice = fixture.users["alice"]!
            let started = try await service.start(for: alice.id, client: nil, address: nil)
            let bob = fixture.caller("bob")
            #expect(await code { try await service.end(started.session.id, of: alice.id, by: bob) } == .forbidden)
            #expect(await code { try await service.endAll(of: alice.id, except: nil, by: bob) } == .forbidden)
            #expect(await code { try await service.list(of: alice.id, current: nil, by: bob) } == .forbidden)
            #expect(await code { try await service.end(started.session.id, of: User.ID(999), by: bob) } == .forbidden)
            #expect(try await service.resolve(started.cookieValue) != nil)

            // Someone else's session id under one's own account is not found.
            let bobs = try await service.start(for: fixture.users["bob"]!.id, client: nil, address: nil)
            #expect(
                await code { try await service.end(started.session.id, of: fixture.users["bob"]!.id, by: bob) }
                    == .sessionNotFound)
            try await service.end(bobs.session.id, of: fixture.users["bob"]!.id, by: bob)
            #expect(try await service.resolve(bobs.cookieValue) == nil)

            try await service.end(started.session.id, of: alice.id, by: fixture.caller("root"))
            #expect(try await service.resolve(started.cookieValue) == nil)
            #expect(
                await code { try await service.end(started.session.id, of: alice.id, by: fixture.caller("alice")) }
                    == .sessionNotFound)
            #expect(try await fixture.audit("session.ended").map(\.actorName) == ["bob", "root"])
        }
    }

    @Test func theSessionsListShowsLiveSessionsNewestFirstWithTheCurrentOneMarked() async throws {
        try await ServiceFixture.with { fixture in
            let service = fixture.sessions(idle: 3600, absolute: 86_400)
            let alice = fixture.users["alice"]!
            let idle = try await service.start(for: alice.id, client: "Old browser", address: "127.0.0.2")
            fixture.clock.advance(by: 1800)
            let older = try await service.start(
                for: alice.id, client: "Firefox\u{1B}[31m " + String(repeating: "x", count: 1000), address: "::1")
            fixture.clock.advance(by: 1)
            let current = try await service.start(for: alice.id, client: nil, address: nil)
            let ended = try await service.start(for: alice.id, client: nil, address: nil)
            try await service.end(ended.cookieValue)
            fixture.clock.advance(by: 1800)  // `idle` now unused for an hour

            let list = try await service.list(of: alice.id, current: current.session.id, by: fixture.caller("alice"))
            #expect(list.map(\.id) == [current.session.id, older.session.id])
            #expect(list.map(\.isCurrent) == [true, false])
            let client = try #require(list[1].client)
            #expect(client.unicodeScalars.count == WebSessionService.clientLength && !client.contains("\u{1B}"))
            #expect(list[1].address == "::1")
            let asAdmin = try await service.list(of: alice.id, current: nil, by: fixture.caller("root"))
            #expect(asAdmin.count == 2 && !asAdmin.contains(where: \.isCurrent))
            _ = idle

            // Pruning deletes the ended and the idle one.
            #expect(try await service.prune() == 2)
            #expect(try await fixture.store.read { try $0.webSessions(of: alice.id) }.count == 2)
        }
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
