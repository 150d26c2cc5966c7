// TEMPORARY: the signatures of wip-sessions, so WebUI compiles before that branch merges. Deleted at merge.
import Authorization
import Foundation
import Storage
import Synchronization
import Threading

public struct WebSession: Sendable, Hashable, Identifiable {
    public typealias ID = RecordID<WebSession>
    public var id: ID
}
public struct DailyPulls: Sendable, Hashable {
    public var day: Date
    public var count: Int
}
public struct WebSessionTimeouts: Sendable, Hashable {
    public var idle: TimeInterval
    public var absolute: TimeInterval
    public init(idle: TimeInterval = 8 * 3600, absolute: TimeInterval = 7 * 86400) {
        self.idle = idle
        self.absolute = absolute
    }
}
public struct ActiveWebSession: Sendable, Hashable {
    public var id: WebSession.ID
    public var user: User
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date
    public var caller: Caller { .user(user) }
}
public struct StartedWebSession: Sendable {
    public var cookieValue: String
    public var session: ActiveWebSession
}
public struct WebSessionSummary: Sendable, Hashable {
    public var id: WebSession.ID
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date
    public var client: String?
    public var address: String?
    public var isCurrent: Bool
}
public struct WebSessionService: Sendable {
    public static let touchInterval: TimeInterval = 60
    let store: any Store
    static let sessions = Mutex<[String: ActiveWebSession]>([:])
    public init(
        store: any Store, timeouts: WebSessionTimeouts = .init(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
    }
    public func start(for userID: User.ID, client: String?, address: String?, replacing previous: String? = nil)
        async throws -> StartedWebSession
    {
        guard let user = try await store.read({ try $0.user(id: userID) }) else {
            throw AdministrationError(.userNotFound)
        }
        let value = "pcw_" + UUID().uuidString
        let session = ActiveWebSession(
            id: WebSession.ID(Int64.random(in: 1...Int64.max)), user: user, csrfToken: UUID().uuidString,
            createdAt: Date(),
            lastSeenAt: Date(), expiresAt: Date().addingTimeInterval(86400))
        Self.sessions.withLock { $0[value] = session }
        return StartedWebSession(cookieValue: value, session: session)
    }
    public func resolve(_ cookieValue: String) async throws -> ActiveWebSession? {
        guard var session = Self.sessions.withLock({ $0[cookieValue] }) else { return nil }
        let userID = session.user.id
        guard let user = try await store.read({ try $0.user(id: userID) }), user.isEnabled else { return nil }
        session.user = user
        return session
    }
    public func end(_ cookieValue: String) async throws {
        _ = Self.sessions.withLock { $0.removeValue(forKey: cookieValue) }
    }
    public func end(_ id: WebSession.ID, of userID: User.ID, by caller: Caller) async throws {}
    public func endAll(of userID: User.ID, except current: WebSession.ID?, by caller: Caller) async throws -> Int { 0 }
    public func list(of userID: User.ID, current: WebSession.ID?, by caller: Caller) async throws
        -> [WebSessionSummary]
    { [] }
    public func prune() async throws -> Int { 0 }
}
public struct FirstRunSetup: Sendable {
    public init(
        store: any Store, settings: ResourcePolicySettings = .init(), hashing: BlockingPool,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {}
    public func isNeeded() async throws -> Bool { false }
    public func issueCode() async throws -> String? { nil }
    public func createAdministrator(code: String, username: String, password: Password, email: String?) async throws
        -> AccountDetails
    { fatalError() }
}
