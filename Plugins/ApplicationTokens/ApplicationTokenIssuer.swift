import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Why an application token operation was refused.
public struct ApplicationTokenError: CodedError, Sendable, Hashable {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The name is empty, too long or contains control characters.
        case invalidName = "application_token.invalid_name"
        /// The expiry date is not in the future.
        case invalidExpiry = "application_token.invalid_expiry"
        /// The owner already has a token with this name (revoked ones keep their name).
        case nameTaken = "application_token.name_taken"
        /// The owner has no token with this name, or the owner does not exist.
        case notFound = "application_token.not_found"
        /// The stored restriction of a token is not valid JSON of an `AccessRestriction`.
        case corruptRestriction = "application_token.corrupt_restriction"
    }

    /// The code.
    public var code: Code
    /// Detail for people; never contains a secret.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

}

/// Creates, lists and revokes a user's application tokens (for the CLI and the REST API).
///
/// Only the SHA-256 of a token and its display prefix are stored; the plaintext is returned once by
/// `create`. Authorization (only the owner or an admin) is the caller's job.
/// Threading: a value holding the store; every method may be called concurrently.
public struct ApplicationTokenIssuer: Sendable {
    /// The longest token name accepted.
    public static let maximumNameLength = 100

    private let store: any Store
    private let now: @Sendable () -> Date

    /// Creates an issuer over `store`, with `now` as the clock for expiry checks and revocations.
    public init(store: any Store, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// Creates a token for `owner` and returns its plaintext (shown once) with the stored record.
    ///
    /// - Throws: `ApplicationTokenError` (`.invalidName`, `.invalidExpiry`, `.nameTaken`, `.notFound` for a
    ///   missing owner) or a `StoreError` when the database fails.
    public func create(owner: User.ID, name: String, expiresAt: Date?, restriction: AccessRestriction?) async throws
        -> (plaintext: String, token: ApplicationToken)
    {
        guard !name.isEmpty, name.count <= Self.maximumNameLength,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ApplicationTokenError(
                .invalidName,
                reason: "a token name is 1 to \(Self.maximumNameLength) characters without control characters")
        }
        if let expiresAt, expiresAt <= now() {
            throw ApplicationTokenError(.invalidExpiry, reason: "the expiry date must be in the future")
        }
        let plaintext = ApplicationTokenFormat.generate()
        let record = NewApplicationToken(
            ownerID: owner, name: name, secretHash: ApplicationTokenFormat.secretHash(of: plaintext),
            prefix: ApplicationTokenFormat.displayPrefix(of: plaintext),
            scope: try RestrictionCoding.encode(restriction), expiresAt: expiresAt)
        do {
            let token = try await store.write { transaction -> ApplicationToken in
                guard try transaction.user(id: owner) != nil else {
                    throw ApplicationTokenError(.notFound, reason: "user \(owner) does not exist")
                }
                return try transaction.createApplicationToken(record)
            }
            return (plaintext, token)
        } catch let error as StoreError where error.code == .conflict {
            throw ApplicationTokenError(.nameTaken, reason: "a token named \"\(name)\" already exists")
        }
    }

    /// Every token of `owner`, ordered by name, revoked and expired ones included.
    ///
    /// - Throws: a `StoreError` when the database fails.
    public func list(owner: User.ID) async throws -> [ApplicationToken] {
        try await store.read { try $0.applicationTokens(ownedBy: owner) }
    }

    /// Revokes `owner`'s token called `name`; revoking a revoked token again changes nothing.
    ///
    /// - Throws: `ApplicationTokenError(.notFound)` when the owner has no such token, or a `StoreError`.
    public func revoke(owner: User.ID, name: String) async throws {
        let date = now()
        try await store.write { transaction in
            guard let token = try transaction.applicationTokens(ownedBy: owner).first(where: { $0.name == name }) else {
                throw ApplicationTokenError(.notFound, reason: "no token named \"\(name)\"")
            }
            try transaction.revokeApplicationToken(token.id, at: date)
        }
    }
}

extension ApplicationToken {
    /// The restriction stored with the token (nil: the token may do whatever its owner may).
    ///
    /// - Throws: `ApplicationTokenError(.corruptRestriction)` when the stored text is not a restriction.
    public func decodedRestriction() throws -> AccessRestriction? {
        try RestrictionCoding.decode(scope)
    }
}

/// The JSON text of an `AccessRestriction` in a token's `scope` column, with sorted arrays so equal
/// restrictions are stored as equal text.
enum RestrictionCoding {
    private struct Stored: Codable {
        var namespaces: [String]?
        var actions: [String]?
    }

    static func encode(_ restriction: AccessRestriction?) throws -> String? {
        guard let restriction, !restriction.isUnrestricted else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(
            Stored(namespaces: restriction.namespaces?.sorted(), actions: restriction.actions?.sorted()))
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String?) throws -> AccessRestriction? {
        guard let text else { return nil }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else {
            throw ApplicationTokenError(.corruptRestriction, reason: "the stored restriction is not valid JSON")
        }
        let restriction = AccessRestriction(
            namespaces: stored.namespaces.map(Set.init), actions: stored.actions.map(Set.init))
        return restriction.isUnrestricted ? nil : restriction
    }
}
