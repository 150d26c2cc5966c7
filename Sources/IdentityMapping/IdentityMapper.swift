import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Creates a local account with everything an account comes with (its personal team and namespace).
///
/// Contract: called synchronously inside a `Store.write` closure, on the store's thread; creates the user
/// and whatever belongs to it through `writer` only, so a later failure in the transaction leaves nothing
/// behind. Throws `StoreError` from the store, or any other error when the account cannot exist (a
/// username that cannot name a namespace): the mapper turns those into a refusal naming the reason.
/// Such an error must be thrown before anything is written (a sync run shares its transaction).
public protocol AccountProvisioning: Sendable {
    /// Creates `user` and its personal namespace; returns the stored user.
    func createAccount(_ user: NewUser, in writer: any StoreWriting) throws -> User
}

/// Why a federated identity gets no account; the message is shown to the user (docker prints it).
public enum MappingRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// A local account (or one of another provider) already has the username: never merged silently.
    case usernameTaken(username: String, provider: String)
    /// The provider does not create accounts, and nobody linked this identity to one.
    case provisioningDisabled(provider: String)
    /// The linked account is disabled.
    case accountDisabled(username: String)
    /// The account could not be created: the username breaks `Username`'s rule (or cannot name a namespace).
    case invalidUsername(username: String, reason: String)

    /// The stable codes of refusals, for logs, audit and the token endpoint's message.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Another account already has the username; never merged silently.
        case usernameTaken = "mapping.username_taken"
        /// The provider does not create accounts and nobody linked the identity.
        case provisioningDisabled = "mapping.provisioning_disabled"
        /// The linked account is disabled.
        case accountDisabled = "mapping.account_disabled"
        /// The username breaks the username rule, so no account can be created.
        case invalidUsername = "mapping.invalid_username"
    }

    /// A stable code for logs and audit.
    public var code: Code {
        switch self {
        case .usernameTaken: .usernameTaken
        case .provisioningDisabled: .provisioningDisabled
        case .accountDisabled: .accountDisabled
        case .invalidUsername: .invalidUsername
        }
    }

    /// What the user reads.
    public var description: String {
        switch self {
        case .usernameTaken(let username, let provider):
            "the username '\(username)' already belongs to another Portcullis account; an administrator must "
                + "link your \(provider) identity to it or rename one of them"
        case .provisioningDisabled(let provider):
            "no Portcullis account is linked to this \(provider) identity and accounts are not created "
                + "automatically; ask an administrator"
        case .accountDisabled: "account disabled"
        case .invalidUsername(let username, let reason):
            "no account can be created for \(Username.quoted(username)): \(reason); ask an administrator"
                + " to create or link one with a valid username"
        }
    }
}

/// What mapping decided for an identity.
public enum MappingOutcome: Sendable, Hashable {
    /// The identity acts as this local account (linked before, or just linked or provisioned).
    case mapped(User.ID)
    /// The identity gets no account.
    case refused(MappingRefusal)
}

/// Maps federated identities to local accounts: follows identity links, provisions accounts on first
/// login (with their personal namespace, email and admin flag), and syncs group → team memberships at
/// every login.
///
/// The hot path does not write: an identity whose link exists and whose synced memberships already match
/// its groups costs one read, and nothing at all while the store's authorization generation stays the one
/// under which that was last found (every change that could alter the answer advances it).
///
/// Threading: immutable apart from its internally locked cache; `map` may be called concurrently.
/// Throws `StoreError` when the store fails; every "no" is a `.refused` outcome.
public final class IdentityMapper: Sendable {
    private let store: any Store
    private let rulesByProvider: [ProviderID: MappingRules]
    private let defaultRules: MappingRules
    private let provisioner: any AccountProvisioning
    private let logger: Logger
    /// Identities (groups included) found linked with nothing to sync, by the generation they were read at.
    private let settled = AuthorizationCache<ExternalIdentity, User.ID>(capacity: 10_000)

    /// Creates a mapper; providers without an entry in `rules` use `defaultRules`.
    public init(
        store: any Store, rules: [ProviderID: MappingRules], defaultRules: MappingRules = MappingRules(),
        provisioner: any AccountProvisioning, logger: Logger
    ) {
        self.store = store
        self.rulesByProvider = rules
        self.defaultRules = defaultRules
        self.provisioner = provisioner
        self.logger = logger
    }

    /// The rules in force for `provider`.
    public func rules(for provider: ProviderID) -> MappingRules { rulesByProvider[provider] ?? defaultRules }

    /// Maps `identity` with its provider's rules.
    public func map(_ identity: ExternalIdentity) async throws -> MappingOutcome {
        try await map(identity, rules: rules(for: identity.provider))
    }

    /// Maps a federated `identity` to its local account under `rules`, provisioning and syncing as they say.
    ///
    /// An identity whose origin is already `.localAccount` maps to that account unchanged.
    public func map(_ identity: ExternalIdentity, rules: MappingRules) async throws -> MappingOutcome {
        if case .localAccount(let userID) = identity.origin { return .mapped(User.ID(userID)) }
        let generation = store.authorizationGeneration
        if let userID = settled.value(for: identity, at: generation) { return .mapped(userID) }
        let provider = identity.provider.rawValue
        let groups = identity.groups.map(DistinguishedName.group)
        let found = try await store.read { reader -> Lookup in
            try Self.lookUp(
                identity, groups: groups, rules: try rules.includingTeamGroupLinks(of: provider, reader), reader: reader
            )
        }
        switch found {
        case .refused(let refusal):
            return .refused(refusal)
        case .linked(let user, let plan):
            if plan.changes.isEmpty {
                settled.insert(user.id, for: identity, readAt: generation)
                return .mapped(user.id)
            }
        case .unlinked:
            guard rules.autoProvision else { return .refused(.provisioningDisabled(provider: provider)) }
        }
        // Something to write: decide again inside the write transaction, where nothing can move under us
        // (a concurrent first login of the same person links once; the second finds the link).
        let provisioner = self.provisioner
        let result: WriteResult
        do {
            result = try await store.write { writer -> WriteResult in
                let rules = try rules.includingTeamGroupLinks(of: provider, writer)
                switch try Self.lookUp(identity, groups: groups, rules: rules, reader: writer) {
                case .refused(let refusal):
                    return WriteResult(outcome: .refused(refusal), applied: [])
                case .linked(let user, let plan):
                    let applied = try GroupSync.apply(plan.changes, to: user, provider: provider, writer: writer)
                    return WriteResult(outcome: .mapped(user.id), applied: applied)
                case .unlinked(let username):
                    guard rules.autoProvision else {
                        return WriteResult(outcome: .refused(.provisioningDisabled(provider: provider)), applied: [])
                    }
                    var named = identity
                    named.username = username
                    return try Self.provision(
                        named, groups: groups, rules: rules, provisioner: provisioner, writer: writer)
                }
            }
        } catch let failure as ProvisioningFailure {
            return .refused(.invalidUsername(username: identity.username, reason: failure.reason))
        }
        if case .mapped = result.outcome, !result.applied.isEmpty {
            logger.info(
                "identity mapped",
                [
                    "provider": provider, "username": identity.username,
                    "changes": result.applied.map(\.description).joined(separator: "; "),
                ])
        }
        return result.outcome
    }

    // MARK: - Steps

    private enum Lookup: Sendable {
        case linked(User, SyncPlan)
        /// Not linked: the account to create gets this username (the identity's, or a suffixed one).
        case unlinked(username: String)
        case refused(MappingRefusal)
    }

    private struct WriteResult: Sendable {
        var outcome: MappingOutcome
        var applied: [SyncChange]
    }

    private static func lookUp(
        _ identity: ExternalIdentity, groups: [DirectoryGroup], rules: MappingRules, reader: any StoreReading
    ) throws -> Lookup {
        let provider = identity.provider.rawValue
        if let user = try reader.user(linkedTo: provider, subject: identity.subject) {
            guard user.isEnabled else { return .refused(.accountDisabled(username: user.username)) }
            return .linked(
                user,
                try GroupSync.plan(
                    for: user, provider: provider, groups: groups, rules: rules, reader: reader,
                    entry: identity.distinguishedName))
        }
        // A first login whose name breaks the rule is refused before anything is written; accounts linked
        // earlier keep working whatever their name (`portcullis doctor` lists those).
        if let problem = Username.problem(with: identity.username) {
            return .refused(.invalidUsername(username: identity.username, reason: problem.message))
        }
        guard try isTaken(identity.username, reader) else { return .unlinked(username: identity.username) }
        if rules.suffixesTakenUsernames {
            // `alice-2`, `alice-3`, …: the base is cut so the suffixed name still fits the length limit.
            let base = String(identity.username.prefix(Username.lengthLimits.upperBound - 4))
            for number in 2...Self.maximumSuffix {
                let candidate = "\(base)-\(number)"
                if Username.isValid(candidate), try !isTaken(candidate, reader) {
                    return .unlinked(username: candidate)
                }
            }
        }
        return .refused(.usernameTaken(username: identity.username, provider: provider))
    }

    /// The highest suffix tried before a taken username is refused after all.
    static let maximumSuffix = 99

    /// Whether an account has `username`, or the same name in another case.
    private static func isTaken(_ username: String, _ reader: any StoreReading) throws -> Bool {
        try reader.user(named: username) != nil || !reader.users(namedIgnoringCase: username).isEmpty
    }

    /// Creates the account, links the identity and applies the first sync, auditing each step.
    private static func provision(
        _ identity: ExternalIdentity, groups: [DirectoryGroup], rules: MappingRules,
        provisioner: any AccountProvisioning, writer: any StoreWriting
    ) throws -> WriteResult {
        let provider = identity.provider.rawValue
        let user = try createAccount(
            for: identity, groups: groups, rules: rules, provisioner: provisioner, writer: writer)
        let plan = try GroupSync.plan(
            for: user, provider: provider, groups: groups, rules: rules, reader: writer,
            entry: identity.distinguishedName)
        let applied = try GroupSync.apply(plan.changes, to: user, provider: provider, writer: writer)
        return WriteResult(outcome: .mapped(user.id), applied: applied)
    }

    /// Creates and links the account of a federated identity (login or pre-provisioning), with audit
    /// events `user.provision` and `user.link`. Call inside a write transaction after checking the
    /// username is free.
    static func createAccount(
        for identity: ExternalIdentity, groups: [DirectoryGroup], rules: MappingRules,
        provisioner: any AccountProvisioning, writer: any StoreWriting
    ) throws -> User {
        let provider = identity.provider.rawValue
        let isAdmin = rules.makesAdmin(groups: groups, entry: identity.distinguishedName)
        let email = identity.email ?? rules.emailGuess.address(for: identity)
        let user: User
        do {
            user = try provisioner.createAccount(
                NewUser(
                    username: identity.username, email: email, displayName: identity.displayName, passwordHash: nil,
                    isAdmin: isAdmin),
                in: writer)
        } catch let error as StoreError {
            throw error
        } catch {
            throw ProvisioningFailure(reason: String(describing: error))
        }
        _ = try writer.linkIdentity(providerID: provider, subject: identity.subject, to: user.id)
        // Made an administrator by an admin group: sync may take it away again when the group does.
        if isAdmin { try writer.setAdminGrant(of: user.id, provider: provider) }
        let actor = "sync:\(provider)"
        _ = try writer.appendAuditEvent(
            NewAuditEvent(
                action: "user.provision", outcome: .success, actorName: actor, target: "user:\(user.username)",
                detail: JSONText.object(sortingKeys: ["provider": provider, "admin": isAdmin ? "true" : "false"])))
        _ = try writer.appendAuditEvent(
            NewAuditEvent(
                action: "user.link", outcome: .success, actorName: actor, target: "user:\(user.username)",
                detail: JSONText.object(sortingKeys: ["provider": provider, "subject": identity.subject])))
        return user
    }
}

/// Carries a provisioning error that is not the store's out of the write closure (rolling it back).
struct ProvisioningFailure: Error {
    var reason: String
}
