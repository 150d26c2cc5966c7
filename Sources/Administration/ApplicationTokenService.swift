import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Why an application token operation was refused.
public typealias ApplicationTokenError = CodedFailure<ApplicationTokenErrorCode>

/// The stable codes of an `ApplicationTokenError`.
public enum ApplicationTokenErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The name is empty, too long or contains control characters.
    case invalidName = "application_token.invalid_name"
    /// The restriction names an unknown action, no action or namespace at all, or is wider than the
    /// restriction of the credential creating it.
    case invalidRestriction = "application_token.invalid_restriction"
    /// The expiry date is not in the future.
    case invalidExpiry = "application_token.invalid_expiry"
    /// The owner already has a token with this name (revoked ones keep their name).
    case nameTaken = "application_token.name_taken"
    /// The owner already holds as many live tokens as `token.applicationTokens.maxPerUser` allows.
    case limitReached = "application_token.limit_reached"
    /// The owner has no token with this name, or the owner does not exist.
    case notFound = "application_token.not_found"
    /// The caller is neither the owner nor an admin.
    case forbidden = "application_token.forbidden"
}

/// An application token as listed: everything but the secret and its hash.
public struct ApplicationTokenSummary: Sendable, Hashable {
    /// The token's id.
    public var id: ApplicationToken.ID
    /// The owner.
    public var ownerID: User.ID
    /// The label, unique per owner.
    public var name: String
    /// The visible start of the secret (`pct_` and six characters).
    public var prefix: String
    /// What the token is limited to, if anything.
    public var restriction: AccessRestriction?
    /// When it was created.
    public var createdAt: Date
    /// When it stops working, if ever.
    public var expiresAt: Date?
    /// When it last authenticated, if ever.
    public var lastUsedAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    /// The summary of a stored token; an unreadable restriction shows as none here (verification fails closed).
    public init(_ token: ApplicationToken) {
        id = token.id
        ownerID = token.ownerID
        name = token.name
        prefix = token.prefix
        restriction = try? token.decodedRestriction()
        createdAt = token.createdAt
        expiresAt = token.expiresAt
        lastUsedAt = token.lastUsedAt
        revokedAt = token.revokedAt
    }
}

/// A token just created, with its plain value: the only time the value leaves the service.
public struct CreatedApplicationToken: Sendable, CustomStringConvertible {
    /// The plain value, to show once.
    public var plaintext: String
    /// The stored token.
    public var token: ApplicationTokenSummary

    /// A log-safe description (without the value).
    public var description: String { "CreatedApplicationToken(\(token.name), \(token.prefix)…)" }
}

/// Creates, lists and revokes a user's application tokens: the operations behind `portcullis token …` and
/// the REST API's `users/{id}/tokens`. Verification is the application-tokens plugin's.
///
/// Each operation takes the acting `Caller` (the owner or an admin may act), runs in one store transaction,
/// and audits creations and revocations (`application_token.create`, `application_token.revoke`, as
/// Portus's activities) in that same transaction. Only the SHA-256 of a token and its display prefix are
/// stored; the plain value is returned once by `create`.
///
/// Throws `ApplicationTokenError` for refusals, `StoreError` when the database fails.
/// Threading: a value holding the store; every method may be called concurrently.
public struct ApplicationTokenService: Sendable {
    /// The longest token name accepted.
    public static let maximumNameLength = 100
    /// The actions a token may be restricted to: registry actions (`pull`, `push`, `delete`), the REST API's
    /// (`api:read`, `api:write`), and `*` for everything.
    public static let permittedActions: Set<String> = ["pull", "push", "delete", "*", "api:read", "api:write"]

    /// Throws `application_token.invalid_restriction` unless `restriction` names only known actions, names at
    /// least one action and namespace where it names any, and is no wider than `limit` (the restriction of
    /// the credential creating it): a token limited to one namespace cannot mint one for every namespace.
    public static func checkRestriction(_ restriction: AccessRestriction?, within limit: AccessRestriction?) throws {
        if let actions = restriction?.actions {
            if let unknown = actions.sorted().first(where: { !permittedActions.contains($0) }) {
                throw ApplicationTokenError(
                    .invalidRestriction,
                    "'\(unknown)' is not one of: \(permittedActions.sorted().joined(separator: ", "))")
            }
            if actions.isEmpty { throw ApplicationTokenError(.invalidRestriction, "name at least one action") }
        }
        if restriction?.namespaces?.isEmpty == true {
            throw ApplicationTokenError(.invalidRestriction, "name at least one namespace, or none for all")
        }
        guard let limit else { return }
        if let allowed = limit.namespaces, !(restriction?.namespaces.map { $0.isSubset(of: allowed) } ?? false) {
            throw ApplicationTokenError(
                .invalidRestriction,
                "the credential used is limited to namespaces \(allowed.sorted().joined(separator: ", ")); "
                    + "the new token must be too")
        }
        // `api:write` permits reading too, so it covers `api:read`.
        if let allowed = limit.actions.map({ $0.contains("api:write") ? $0.union(["api:read"]) : $0 }),
            !allowed.contains("*"), !(restriction?.actions.map { $0.isSubset(of: allowed) } ?? false)
        {
            throw ApplicationTokenError(
                .invalidRestriction,
                "the credential used is limited to actions \(allowed.sorted().joined(separator: ", ")); "
                    + "the new token must be too")
        }
    }

    private let store: any Store
    private let maxPerUser: Int
    private let now: @Sendable () -> Date

    /// Creates the service over `store`; a user may hold at most `maxPerUser` live tokens (Portus: 5).
    public init(store: any Store, maxPerUser: Int = 5, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.maxPerUser = maxPerUser
        self.now = now
    }

    /// Creates a token for `owner` and returns its plain value (shown once) with the stored record.
    ///
    /// - Throws: `ApplicationTokenError` (`.forbidden`, `.invalidName`, `.invalidExpiry`, `.nameTaken`,
    ///   `.limitReached`, `.notFound` for a missing owner) or a `StoreError`.
    ///   `within` is the restriction of the credential the caller used, if any: the new token's is no wider.
    public func create(
        owner: User.ID, name: String, expiresAt: Date? = nil, restriction: AccessRestriction? = nil,
        within limit: AccessRestriction? = nil, by caller: Caller
    ) async throws -> CreatedApplicationToken {
        guard caller.mayActFor(owner) else {
            throw ApplicationTokenError(.forbidden, "only the owner or an admin may create a user's tokens")
        }
        try Self.checkRestriction(restriction, within: limit)
        guard !name.isEmpty, name.count <= Self.maximumNameLength,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ApplicationTokenError(
                .invalidName, "a token name is 1 to \(Self.maximumNameLength) characters without control characters")
        }
        let date = now()
        if let expiresAt, expiresAt <= date {
            throw ApplicationTokenError(.invalidExpiry, "the expiry date must be in the future")
        }
        let plaintext = ApplicationTokenFormat.generate()
        let record = NewApplicationToken(
            ownerID: owner, name: name, secretHash: ApplicationTokenFormat.secretHash(of: plaintext),
            prefix: ApplicationTokenFormat.displayPrefix(of: plaintext),
            scope: try RestrictionCoding.encode(restriction), expiresAt: expiresAt)
        let maxPerUser = maxPerUser
        do {
            let token = try await store.write { writer -> ApplicationToken in
                guard let user = try writer.user(id: owner) else {
                    throw ApplicationTokenError(.notFound, "user \(owner) does not exist")
                }
                let existing = try writer.applicationTokens(ownedBy: owner)
                // Checked before the cap: "the name is taken" says more than "too many" when both hold.
                if existing.contains(where: { $0.name == name }) {
                    throw ApplicationTokenError(.nameTaken, "a token named \"\(name)\" already exists")
                }
                let live = existing.filter { $0.isUsable(at: date) }.count
                guard live < maxPerUser else {
                    throw ApplicationTokenError(
                        .limitReached,
                        "\(user.username) already has \(live) live application tokens, the most "
                            + "token.applicationTokens.maxPerUser allows; revoke one first")
                }
                let token = try writer.createApplicationToken(record)
                _ = try writer.appendAuditEvent(
                    Self.event("application_token.create", token: token, owner: user, by: caller, at: date))
                return token
            }
            return CreatedApplicationToken(plaintext: plaintext, token: ApplicationTokenSummary(token))
        } catch let error as StoreError where error.code == .conflict {
            throw ApplicationTokenError(.nameTaken, "a token named \"\(name)\" already exists")
        }
    }

    /// Every token of `owner`, ordered by name, revoked and expired ones included; never a secret.
    ///
    /// - Throws: `ApplicationTokenError(.forbidden)` unless the caller is the owner or an admin; a `StoreError`.
    public func list(owner: User.ID, by caller: Caller) async throws -> [ApplicationTokenSummary] {
        guard caller.mayActFor(owner) else {
            throw ApplicationTokenError(.forbidden, "only the owner or an admin may list a user's tokens")
        }
        return try await store.read { try $0.applicationTokens(ownedBy: owner) }.map(ApplicationTokenSummary.init)
    }

    /// Revokes `owner`'s token called `name`; revoking a revoked token again changes nothing (and audits
    /// nothing).
    ///
    /// - Throws: `ApplicationTokenError` (`.forbidden` unless the caller is the owner or an admin,
    ///   `.notFound` when the owner has no such token) or a `StoreError`.
    public func revoke(owner: User.ID, name: String, by caller: Caller) async throws {
        try await revoke(owner: owner, by: caller, matching: { $0.name == name }, missing: "no token named \"\(name)\"")
    }

    /// Revokes `owner`'s token with id `tokenID`, as `revoke(owner:name:by:)` does.
    public func revoke(owner: User.ID, tokenID: ApplicationToken.ID, by caller: Caller) async throws {
        try await revoke(owner: owner, by: caller, matching: { $0.id == tokenID }, missing: "no token \(tokenID)")
    }

    private func revoke(
        owner: User.ID, by caller: Caller, matching: @escaping @Sendable (ApplicationToken) -> Bool, missing: String
    ) async throws {
        guard caller.mayActFor(owner) else {
            throw ApplicationTokenError(.forbidden, "only the owner or an admin may revoke a user's tokens")
        }
        let date = now()
        try await store.write { writer in
            guard let user = try writer.user(id: owner),
                let token = try writer.applicationTokens(ownedBy: owner).first(where: matching)
            else {
                throw ApplicationTokenError(.notFound, missing)
            }
            guard token.revokedAt == nil else { return }
            try writer.revokeApplicationToken(token.id, at: date)
            _ = try writer.appendAuditEvent(
                Self.event("application_token.revoke", token: token, owner: user, by: caller, at: date))
        }
    }

    private static func event(_ action: String, token: ApplicationToken, owner: User, by caller: Caller, at date: Date)
        -> NewAuditEvent
    {
        NewAuditEvent(
            action: action, outcome: .success, actorID: caller.userID, actorName: caller.auditName,
            target: "user:\(owner.username)",
            detail: AuditDetail.json(["token": token.name, "token_prefix": token.prefix]), time: date)
    }
}

/// Small JSON objects of strings for audit `detail` columns.
enum AuditDetail {
    static func json(_ members: [String: String]) -> String? {
        (try? JSONSerialization.data(withJSONObject: members, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) }
    }
}
