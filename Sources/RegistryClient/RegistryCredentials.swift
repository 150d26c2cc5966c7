import Foundation
import Threading

/// One access a registry call needs, as the token's `access` claim names it (`type:name:actions`).
public struct RegistryScope: Sendable, Hashable, CustomStringConvertible {
    /// The resource type: `repository` or `registry`.
    public var type: String
    /// The resource name: a repository name, or `catalog`.
    public var name: String
    /// The actions granted on it, such as `pull`, `delete` or `*`.
    public var actions: [String]

    /// Describes an access.
    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// `registry:catalog:*`, which `GET /v2/_catalog` requires (registry 2.8 accepts no other action).
    public static let catalog = RegistryScope(type: "registry", name: "catalog", actions: ["*"])

    /// `repository:<name>:pull`, which tag lists and manifest HEAD/GET require.
    public static func pull(_ repository: String) -> RegistryScope {
        RegistryScope(type: "repository", name: repository, actions: ["pull"])
    }

    /// `repository:<name>:delete`, which a manifest DELETE requires (registry 2.8 asks for nothing else).
    public static func delete(_ repository: String) -> RegistryScope {
        RegistryScope(type: "repository", name: repository, actions: ["delete"])
    }

    /// `type:name:action,action`, the form the token protocol uses.
    public var description: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}

/// A bearer token for a registry, and when it stops being valid.
public struct RegistryToken: Sendable {
    /// The compact JWT sent as `Authorization: Bearer …`; never logged.
    public var value: String
    /// When the registry stops accepting it.
    public var expiresAt: Date

    /// Wraps a minted token.
    public init(value: String, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }
}

/// Mints the bearer tokens a registry client presents, each for exactly the scopes of one call.
///
/// Threading contract: `token(for:)` may be called concurrently from any task and must not block the
/// cooperative pool. Throws when no token can be minted (no signing key, a broken key store); the
/// client reports that as `RegistryAPIError.Code.credentials`.
public protocol RegistryTokenSource: Sendable {
    /// A token granting `scopes` (and nothing else), with its expiry.
    func token(for scopes: [RegistryScope]) async throws -> RegistryToken
}

/// Tokens already minted, one per scope set, reused until shortly before they expire.
///
/// Minting is cheap but not free (a signature each), and a reconciliation run asks for the same
/// `repository:<name>:pull` scope several times in a row.
final class TokenCache: Sendable {
    private let entries: BoundedCache<String, RegistryToken>
    private let renewalMargin: TimeInterval

    init(renewalMargin: Duration, capacity: Int = 1024) {
        self.renewalMargin = renewalMargin.inSeconds
        entries = BoundedCache(capacity: capacity)
    }

    static func key(_ scopes: [RegistryScope]) -> String { scopes.map(\.description).joined(separator: " ") }

    /// The cached token for `key` when it stays valid past the renewal margin.
    func token(for key: String, now: Date = Date()) -> RegistryToken? {
        guard let token = entries.value(for: key) else { return nil }
        guard token.expiresAt.timeIntervalSince(now) > renewalMargin else {
            entries.remove(key)
            return nil
        }
        return token
    }

    func store(_ token: RegistryToken, for key: String) { entries.insert(token, for: key) }

    func forget(_ key: String) { entries.remove(key) }
}
