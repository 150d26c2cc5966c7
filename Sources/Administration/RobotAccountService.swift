import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Why a robot account operation was refused.
public typealias RobotAccountError = CodedFailure<RobotAccountErrorCode>

/// The stable codes of a `RobotAccountError`.
public enum RobotAccountErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The robot name breaks the rule (2 to 64 of `a-z`, `0-9`, `.`, `_`, `-`, starting and ending with a
    /// letter or digit).
    case invalidName = "robot.invalid_name"
    /// No action, or one that is not `pull`, `push` or `delete`.
    case invalidActions = "robot.invalid_actions"
    /// The expiry is not in the future, or further than `token.robots.maxLifetime`.
    case invalidExpiry = "robot.invalid_expiry"
    /// A named namespace does not exist or is not the team's.
    case invalidNamespace = "robot.invalid_namespace"
    /// No such team, or a hidden (personal or global) one, which cannot have robots.
    case unknownTeam = "robot.unknown_team"
    /// The team already has a robot with this name (revoked ones keep their name).
    case nameTaken = "robot.name_taken"
    /// The team has no robot with this name.
    case notFound = "robot.not_found"
    /// The caller may not do this to the team's robots (owners and admins manage, members list).
    case forbidden = "robot.forbidden"
}

/// A robot account as listed: everything but the secret and its hash.
public struct RobotAccountSummary: Sendable, Hashable {
    /// The robot's id.
    public var id: RobotAccount.ID
    /// The team's name.
    public var team: String
    /// The robot's own name.
    public var name: String
    /// What it logs in as: `<team>+<name>`.
    public var loginName: String
    /// The visible start of the secret (`pcr_` and six characters).
    public var prefix: String
    /// The registry actions it may be granted, sorted.
    public var actions: [String]
    /// The team namespaces it is limited to, or nil for all of the team's.
    public var namespaces: [String]?
    /// Free text, if any.
    public var note: String?
    /// Who made it (kept when that account is deleted).
    public var createdBy: String
    /// When it was made.
    public var createdAt: Date
    /// When it stops working.
    public var expiresAt: Date
    /// When it last authenticated, if ever.
    public var lastUsedAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    /// The summary of a stored robot of `team`.
    public init(_ robot: RobotAccount, team: String) {
        id = robot.id
        self.team = team
        name = robot.name
        loginName = RobotAccount.loginName(team: team, robot: robot.name)
        prefix = robot.prefix
        actions = robot.actions
        namespaces = robot.namespaces
        note = robot.note
        createdBy = robot.createdByName
        createdAt = robot.createdAt
        expiresAt = robot.expiresAt
        lastUsedAt = robot.lastUsedAt
        revokedAt = robot.revokedAt
    }

    /// Whether it may authenticate at `date`.
    public func isUsable(at date: Date) -> Bool { revokedAt == nil && date < expiresAt }
}

/// A robot just created, with its token: the only time the token leaves the service.
public struct CreatedRobotAccount: Sendable, CustomStringConvertible {
    /// The token, to show once; the password of `docker login -u <loginName>`.
    public var plaintext: String
    /// The stored robot.
    public var robot: RobotAccountSummary

    /// A log-safe description (without the token).
    public var description: String { "CreatedRobotAccount(\(robot.loginName), \(robot.prefix)…)" }
}

/// Robot accounts (Harbor's and Quay's robots): tokens owned by a team rather than a person, for CI systems
/// without OIDC. The operations behind `portcullis robot …` and the REST API's `teams/{id}/robots`.
///
/// - A team owner or an admin creates and revokes them; any member of the team (and admins) lists and shows.
/// - A robot logs in as `<team>+<name>` with a `pcr_` token (verified by the application-tokens plugin) and
///   is granted the intersection of its actions (`pull`, `push`, `delete`; `push` brings `pull`, which every
///   push needs), its namespaces (the team's, or a chosen few of them) and what a team owner may do there
///   under the configured policy. Namespaces elsewhere, public ones included, are closed to it.
/// - Every robot expires, at most `maxLifetime` after creation. It keeps working when the person who made it
///   leaves the team or is deleted; it goes with its team.
/// - Creations and revocations are audited in their transaction (`robot.create`, `robot.revoke`); the
///   token endpoint's audit records name the robot (`<team>+<name>`) as the actor.
///
/// Throws `RobotAccountError` for refusals, `StoreError` when the database fails.
/// Threading: a value holding the store; every method may be called concurrently.
public struct RobotAccountService: Sendable {
    /// How many characters a robot name may have.
    public static let nameLengthLimits = 2...64
    /// The actions a robot may be given.
    public static let permittedActions: Set<String> = ["pull", "push", "delete"]
    /// The longest note accepted.
    public static let maximumNoteLength = 500

    private let store: any Store
    private let maxLifetime: TimeInterval
    private let now: @Sendable () -> Date

    /// Creates the service; a robot's expiry may be at most `maxLifetime` seconds after its creation.
    public init(
        store: any Store, maxLifetime: TimeInterval = 365 * 86_400, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.maxLifetime = maxLifetime
        self.now = now
    }

    /// The first way `name` breaks the robot-name rule, or nil.
    public static func problem(withName name: String) -> String? {
        let bytes = Array(name.utf8)
        let isAlphanumeric = { (byte: UInt8) in (0x30...0x39).contains(byte) || (0x61...0x7a).contains(byte) }
        let isSeparator = { (byte: UInt8) in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard nameLengthLimits.contains(bytes.count), bytes.allSatisfy({ isAlphanumeric($0) || isSeparator($0) }),
            isAlphanumeric(bytes[0]), isAlphanumeric(bytes[bytes.count - 1])
        else {
            return "a robot name is 2 to 64 of a-z, 0-9, '.', '_', '-', starting and ending with a letter or digit"
        }
        return nil
    }

    /// Creates a robot for the team named `team` and returns its token (shown once).
    ///
    /// - Parameters:
    ///   - actions: a non-empty subset of `pull`, `push`, `delete` (`push` adds `pull`).
    ///   - namespaces: the team namespaces it is limited to; nil for all of the team's, now and later.
    ///   - expiresAt: required; after now and at most `maxLifetime` away.
    /// - Throws: `RobotAccountError` or a `StoreError`.
    public func create(
        team: String, name: String, actions: Set<String>, namespaces: Set<String>? = nil, expiresAt: Date,
        note: String? = nil, by caller: Caller
    ) async throws -> CreatedRobotAccount {
        if let problem = Self.problem(withName: name) { throw RobotAccountError(.invalidName, problem) }
        var actions = actions
        guard !actions.isEmpty, actions.isSubset(of: Self.permittedActions) else {
            throw RobotAccountError(.invalidActions, "name one or more of: pull, push, delete")
        }
        if actions.contains("push") { actions.insert("pull") }
        let date = now()
        guard expiresAt > date else {
            throw RobotAccountError(.invalidExpiry, "the expiry must be in the future")
        }
        guard expiresAt.timeIntervalSince(date) <= maxLifetime else {
            throw RobotAccountError(
                .invalidExpiry,
                "the expiry may be at most \(Int(maxLifetime / 86_400)) days away (token.robots.maxLifetime)")
        }
        if let note,
            note.count > Self.maximumNoteLength
                || note.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        {
            throw RobotAccountError(
                .invalidName, "a note is at most \(Self.maximumNoteLength) characters without control characters")
        }
        let plaintext = ApplicationTokenFormat.generate(prefix: ApplicationTokenFormat.robotPrefix)
        let sortedActions = actions.sorted()
        do {
            return try await store.write { writer -> CreatedRobotAccount in
                let found = try Self.team(named: team, reader: writer)
                try Self.requireOwner(of: found, caller, reader: writer, doing: "create robots")
                if let namespaces {
                    guard !namespaces.isEmpty else {
                        throw RobotAccountError(
                            .invalidNamespace, "name at least one namespace, or none for all")
                    }
                    let owned = Set(try writer.namespaces(ownedBy: found.id).map(\.name))
                    if let stranger = namespaces.sorted().first(where: { !owned.contains($0) }) {
                        throw RobotAccountError(
                            .invalidNamespace, "'\(stranger)' is not a namespace of team \(found.name)")
                    }
                }
                let robot = try writer.createRobotAccount(
                    NewRobotAccount(
                        teamID: found.id, name: name, secretHash: ApplicationTokenFormat.secretHash(of: plaintext),
                        prefix: ApplicationTokenFormat.displayPrefix(of: plaintext), actions: sortedActions,
                        namespaces: namespaces?.sorted(), note: note, createdByID: caller.userID,
                        createdByName: caller.auditName, expiresAt: expiresAt))
                let summary = RobotAccountSummary(robot, team: found.name)
                _ = try writer.appendAuditEvent(Self.event("robot.create", summary, by: caller, at: date))
                return CreatedRobotAccount(plaintext: plaintext, robot: summary)
            }
        } catch let error as StoreError where error.code == .conflict {
            throw RobotAccountError(.nameTaken, "team \(team) already has a robot named \"\(name)\"")
        }
    }

    /// The robots of the team named `team`, ordered by name, revoked and expired ones included.
    ///
    /// - Throws: `RobotAccountError` (`.unknownTeam`; `.forbidden` unless the caller is a member or an admin)
    ///   or a `StoreError`.
    public func list(team: String, by caller: Caller) async throws -> [RobotAccountSummary] {
        try await store.read { reader in
            let found = try Self.team(named: team, reader: reader)
            try Self.requireMember(of: found, caller, reader: reader)
            return try reader.robotAccounts(ofTeam: found.id).map { RobotAccountSummary($0, team: found.name) }
        }
    }

    /// The team's robot called `name`.
    ///
    /// - Throws: `RobotAccountError` (`.unknownTeam`, `.forbidden`, `.notFound`) or a `StoreError`.
    public func show(team: String, name: String, by caller: Caller) async throws -> RobotAccountSummary {
        try await store.read { reader in
            let found = try Self.team(named: team, reader: reader)
            try Self.requireMember(of: found, caller, reader: reader)
            guard let robot = try reader.robotAccount(named: name, inTeam: found.id) else {
                throw RobotAccountError(.notFound, "team \(found.name) has no robot named \"\(name)\"")
            }
            return RobotAccountSummary(robot, team: found.name)
        }
    }

    /// Revokes the team's robot called `name`; its token stops working at once (every instance: the
    /// authorization generation moves). Revoking a revoked robot again changes nothing.
    ///
    /// - Throws: `RobotAccountError` (`.unknownTeam`, `.forbidden` unless a team owner or admin, `.notFound`)
    ///   or a `StoreError`.
    public func revoke(team: String, name: String, by caller: Caller) async throws {
        let date = now()
        try await store.write { writer in
            let found = try Self.team(named: team, reader: writer)
            try Self.requireOwner(of: found, caller, reader: writer, doing: "revoke robots")
            guard let robot = try writer.robotAccount(named: name, inTeam: found.id) else {
                throw RobotAccountError(.notFound, "team \(found.name) has no robot named \"\(name)\"")
            }
            guard robot.revokedAt == nil else { return }
            try writer.revokeRobotAccount(robot.id, at: date)
            _ = try writer.appendAuditEvent(
                Self.event("robot.revoke", RobotAccountSummary(robot, team: found.name), by: caller, at: date))
        }
    }

    // MARK: - Rules

    private static func team(named name: String, reader: any StoreReading) throws -> Team {
        guard let team = try reader.team(named: name), !team.isHidden else {
            throw RobotAccountError(.unknownTeam, "no team named '\(name)' that can have robots")
        }
        return team
    }

    private static func role(of caller: Caller, in team: Team, reader: any StoreReading) throws -> TeamRole? {
        guard let userID = caller.userID else { return nil }
        return try reader.memberships(of: userID).first(where: { $0.team.id == team.id })?.role
    }

    private static func requireOwner(of team: Team, _ caller: Caller, reader: any StoreReading, doing what: String)
        throws
    {
        let role = try role(of: caller, in: team, reader: reader)
        guard caller.isAdmin || role == .owner else {
            throw RobotAccountError(.forbidden, "only owners of team \(team.name) and admins may \(what)")
        }
    }

    private static func requireMember(of team: Team, _ caller: Caller, reader: any StoreReading) throws {
        let role = try role(of: caller, in: team, reader: reader)
        guard caller.isAdmin || role != nil else {
            throw RobotAccountError(
                .forbidden, "only members of team \(team.name) and admins may see its robots")
        }
    }

    private static func event(_ action: String, _ robot: RobotAccountSummary, by caller: Caller, at date: Date)
        -> NewAuditEvent
    {
        var detail = [
            "robot": robot.loginName, "token_prefix": robot.prefix, "actions": robot.actions.joined(separator: ","),
            "expires_at": robot.expiresAt.formatted(.iso8601),
        ]
        if let namespaces = robot.namespaces { detail["namespaces"] = namespaces.joined(separator: ",") }
        return NewAuditEvent(
            action: action, outcome: .success, actorID: caller.userID, actorName: caller.auditName,
            target: "team:\(robot.team)", detail: AuditDetail.json(detail), time: date)
    }
}
