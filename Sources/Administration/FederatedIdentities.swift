import Authorization
import Foundation
import IdentityCore
import IdentityMapping
import Storage

/// One identity linked to an account, as the profile and the admin user page list it.
public struct LinkedIdentitySummary: Sendable, Hashable {
    /// The link's id (what "unlink" names).
    public var id: IdentityLink.ID
    /// The provider's id.
    public var providerID: String
    /// The provider's display name (the id when it is no longer configured).
    public var providerName: String
    /// The issuer, for identities signed in through a redirect provider.
    public var issuer: String?
    /// The provider's subject.
    public var subject: String
    /// When it was linked.
    public var linkedAt: Date
    /// When it last signed in.
    public var lastSeenAt: Date?
    /// When it was suspended by revalidation, if it is.
    public var suspendedAt: Date?
    /// Why.
    public var suspensionReason: String?
}

/// What one revalidation run did.
public struct RevalidationReport: Sendable, Hashable {
    /// Identities the providers confirmed.
    public var confirmed = 0
    /// Identities suspended in this run.
    public var suspended = 0
    /// Identities whose provider could not answer (still in their grace period).
    public var failing = 0
    /// Identities not due, without a kept grant, or of a provider that cannot revalidate.
    public var skipped = 0
}

extension FederatedSignIn {
    // MARK: - Linked identities

    /// The identities linked to `userID`.
    ///
    /// - Throws: `administration.forbidden` unless the caller is that account or an administrator.
    public func linkedIdentities(of userID: User.ID, by caller: Caller) async throws -> [LinkedIdentitySummary] {
        let names = providers.mapValues { $0.provider.displayName }
        return try await store.read { reader in
            let user = try Self.authorize(caller, for: userID, reader)
            return try reader.identityLinks(of: user.id).map { link in
                let record = try reader.federatedIdentity(linkID: link.id)
                return LinkedIdentitySummary(
                    id: link.id, providerID: link.providerID, providerName: names[link.providerID] ?? link.providerID,
                    issuer: record?.issuer, subject: link.subject, linkedAt: link.createdAt,
                    lastSeenAt: link.lastSeenAt, suspendedAt: record?.suspendedAt,
                    suspensionReason: record?.suspensionReason)
            }
        }
    }

    /// Unlinks an identity from `userID`. The owner may not remove the account's last way to sign in (no
    /// password and no other identity); an administrator may.
    ///
    /// - Throws: `sso.link_not_found`, `sso.last_sign_in_method`, `administration.forbidden`.
    public func unlink(_ linkID: IdentityLink.ID, of userID: User.ID, by caller: Caller) async throws {
        let date = now()
        try await store.write { writer in
            let user = try Self.authorize(caller, for: userID, writer)
            let links = try writer.identityLinks(of: user.id)
            guard let link = links.first(where: { $0.id == linkID }) else {
                throw FederatedSignInError(.linkNotFound, "\(user.username) has no linked identity \(linkID).")
            }
            let isAdmin = try ResolvedCaller(caller, in: writer).isAdmin && caller.userID != user.id
            if !isAdmin, user.passwordHash == nil, links.count <= 1 {
                throw FederatedSignInError(
                    .lastSignInMethod,
                    "This is the only way to sign in to \(user.username): link another identity first, or ask an "
                        + "administrator.")
            }
            _ = try writer.revokeWebSessions(ofIdentityLink: link.id, at: date)
            try writer.unlinkIdentity(link.id)
            let acting = try ResolvedCaller(caller, in: writer)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "user.unlink", target: "user:\(user.username)",
                    detail: [("provider", link.providerID), ("subject", link.subject)]))
        }
    }

    /// Links an identity of one of these providers to an account by hand (an administrator).
    ///
    /// - Throws: `sso.unknown_provider`, and what `IdentityLinkAdministration.link` throws.
    public func adminLink(username: String, providerID: String, issuer: String, subject: String, by caller: Caller)
        async throws
    {
        guard providers[providerID] != nil else {
            throw FederatedSignInError(.unknownProvider, "No redirect sign-in provider has the id \(providerID).")
        }
        try await IdentityLinkAdministration(store: store).link(
            username: username, providerID: providerID, issuer: issuer, subject: subject, by: caller)
    }

    // MARK: - Revalidation

    /// Re-checks every identity due (not checked for `revalidateEvery`) at its provider, when the provider can
    /// (`GrantRevalidating`) and a grant was kept. `.gone` suspends at once; a provider that cannot answer
    /// suspends only once it has failed for `revalidationGrace` without a break. A suspension disables the
    /// account (if enabled) and ends its sessions, so its application tokens are refused everywhere until the
    /// person signs in again through the provider. Also prunes expired login states.
    public func revalidate() async throws -> RevalidationReport {
        _ = try await store.write { [now] in try $0.pruneLoginStates(expiredBefore: now()) }
        return try await revalidate(providerIDs, regardlessOfSchedule: false)
    }

    /// Re-checks every identity of the provider `providerID` now, whenever it was last checked (an administrator
    /// after an incident at the provider, or to see a removal take effect at once), with the same outcomes as
    /// the scheduled run. Audited as `sso.revalidate`.
    ///
    /// - Throws: `administration.forbidden` unless the caller is an administrator; `sso.unknown_provider`.
    public func revalidateNow(providerID: String, by caller: Caller) async throws -> RevalidationReport {
        try await store.read { reader in
            try ResolvedCaller(caller, in: reader).require(.administer, ResourcePolicySettings())
        }
        guard providers[providerID] != nil else {
            throw FederatedSignInError(.unknownProvider, "No redirect sign-in provider has the id \(providerID).")
        }
        let report = try await revalidate([providerID], regardlessOfSchedule: true)
        _ = try await store.write { writer in
            try writer.appendAuditEvent(
                try ResolvedCaller(caller, in: writer).audit(
                    "sso.revalidate", target: "provider:\(providerID)",
                    detail: [
                        ("confirmed", String(report.confirmed)), ("suspended", String(report.suspended)),
                        ("failing", String(report.failing)), ("skipped", String(report.skipped)),
                    ]))
        }
        return report
    }

    /// Whether identities of `providerID` can be re-checked (its plugin is `GrantRevalidating`).
    public func canRevalidate(_ providerID: String) -> Bool {
        providers[providerID]?.provider is any GrantRevalidating
    }

    private func revalidate(_ providerIDs: [String], regardlessOfSchedule: Bool) async throws -> RevalidationReport {
        let date = now()
        var report = RevalidationReport()
        for providerID in providerIDs {
            guard let entry = providers[providerID] else { continue }
            let records = try await store.read { try $0.federatedIdentities(ofProvider: providerID) }
            guard let checker = entry.provider as? any GrantRevalidating else {
                report.skipped += records.count
                continue
            }
            for record in records {
                guard record.suspendedAt == nil, let sealed = record.sealedGrant,
                    regardlessOfSchedule
                        || record.checkedAt.map({ date.timeIntervalSince($0) >= times.revalidateEvery }) ?? true
                else {
                    report.skipped += 1
                    continue
                }
                let grant = try? grants?.open(sealed, provider: record.providerID, subject: record.subject)
                guard let grant else {
                    report.skipped += 1
                    continue
                }
                let username = try await store.read { try $0.user(id: record.userID)?.username } ?? ""
                let identity = ExternalIdentity(
                    provider: entry.provider.id, subject: record.subject, username: username,
                    credential: .externalLogin)
                do {
                    switch try await checker.revalidate(identity, grant: grant) {
                    case .valid(var refreshed, let newGrant):
                        refreshed.provider = entry.provider.id
                        refreshed.subject = record.subject
                        refreshed.origin = .federated
                        _ = try await mapper.map(refreshed, rules: entry.rules)
                        let sealedNew = try newGrant.flatMap {
                            try grants?.seal($0, provider: record.providerID, subject: record.subject)
                        }
                        try await store.write { writer in
                            guard var current = try writer.federatedIdentity(linkID: record.linkID) else { return }
                            current.checkedAt = date
                            current.failingSince = nil
                            current.sealedGrant = sealedNew ?? current.sealedGrant
                            try writer.saveFederatedIdentity(current)
                        }
                        report.confirmed += 1
                    case .gone(let reason):
                        try await suspend(record, reason: "the provider says: \(reason)", at: date)
                        report.suspended += 1
                    }
                } catch is ProviderError {
                    let since = record.failingSince ?? date
                    if date.timeIntervalSince(since) >= times.revalidationGrace {
                        try await suspend(
                            record, reason: "the provider could not be reached since \(Self.format(since))", at: date)
                        report.suspended += 1
                    } else {
                        try await store.write { writer in
                            guard var current = try writer.federatedIdentity(linkID: record.linkID) else { return }
                            current.failingSince = since
                            try writer.saveFederatedIdentity(current)
                        }
                        report.failing += 1
                    }
                }
            }
        }
        return report
    }

    private func suspend(_ record: FederatedIdentity, reason: String, at date: Date) async throws {
        try await store.write { writer in
            guard var current = try writer.federatedIdentity(linkID: record.linkID), current.suspendedAt == nil,
                let user = try writer.user(id: current.userID)
            else { return }
            current.suspendedAt = date
            current.suspensionReason = String(reason.prefix(1000))
            current.disabledAccount = user.isEnabled
            if user.isEnabled { try writer.setEnabled(false, for: user.id) }
            try writer.saveFederatedIdentity(current)
            let ended = try writer.revokeWebSessions(of: user.id, except: nil, at: date)
            _ = try writer.revokeRefreshTokens(of: user.id, at: date)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "sso.identity_suspended", outcome: .success, actorName: "sso:\(current.providerID)",
                    target: "user:\(user.username)",
                    detail: AuditDetail.json([
                        "provider": current.providerID, "reason": current.suspensionReason ?? "",
                        "sessions_ended": String(ended),
                    ]), time: date))
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// The caller resolved, allowed to act for `userID` (itself or an administrator), and that account.
    static func authorize(_ caller: Caller, for userID: User.ID, _ reader: any StoreReading) throws -> User {
        let acting = try ResolvedCaller(caller, in: reader)
        if acting.actor.userID != userID { try acting.require(.administer, ResourcePolicySettings()) }
        guard let user = try reader.user(id: userID) else {
            throw AdministrationError(.userNotFound, "no user with id \(userID)")
        }
        return user
    }
}

/// Creates accounts as every front door does (with their personal team and namespace), for identity mapping.
public struct PersonalAccountProvisioner: AccountProvisioning {
    private let reservedUsernames: [String: String]

    /// Creates the provisioner; `reservedUsernames` maps lowercased names no account may take (CI trust
    /// policies' names, which are `docker login` usernames) to what holds them.
    public init(reservedUsernames: [String: String] = [:]) {
        self.reservedUsernames = reservedUsernames
    }

    /// Creates `user` with its personal namespace.
    ///
    /// - Throws: `account.username_taken` when the name is reserved (the mapper refuses the login naming
    ///   why), and store errors.
    public func createAccount(_ user: NewUser, in writer: any StoreWriting) throws -> User {
        try AccountAdministration.checkNotReserved(user.username, reservedUsernames)
        return try AccountAdministration.provision(user, in: writer).0
    }
}

/// Links and unlinks federated identities by hand: administrators only (the command line's `user link` and
/// `user unlink`). An identity is `(provider, issuer, subject)`; one identity belongs to one account.
public struct IdentityLinkAdministration: Sendable {
    let store: any Store

    /// Creates the service.
    public init(store: any Store) { self.store = store }

    /// Links `(providerID, issuer, subject)` to `username`'s account. Linking it again to the same account is
    /// no error.
    ///
    /// - Throws: `administration.forbidden` unless the caller is an administrator, `account.not_found`,
    ///   `sso.link_not_found` for an empty issuer or subject, `sso.linked_elsewhere`.
    public func link(username: String, providerID: String, issuer: String, subject: String, by caller: Caller)
        async throws
    {
        let settings = ResourcePolicySettings()
        try await store.write { writer in
            let acting = try ResolvedCaller(caller, in: writer)
            try acting.require(.administer, settings)
            guard let user = try writer.user(named: username) else {
                throw AdministrationError(.userNotFound, "no user named \(Username.quoted(username))")
            }
            guard !subject.isEmpty, !issuer.isEmpty, !providerID.isEmpty else {
                throw FederatedSignInError(.linkNotFound, "The provider, the issuer and the subject are all needed.")
            }
            if let current = try writer.user(linkedTo: providerID, subject: subject) {
                guard current.id == user.id else {
                    throw FederatedSignInError(
                        .linkedElsewhere, "That identity is linked to \(current.username) already; unlink it first.")
                }
                return
            }
            let link = try writer.linkIdentity(providerID: providerID, subject: subject, to: user.id)
            try writer.saveFederatedIdentity(
                FederatedIdentity(
                    linkID: link.id, providerID: providerID, subject: subject, userID: user.id, issuer: issuer))
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "user.link", target: "user:\(user.username)",
                    detail: [("provider", providerID), ("subject", subject), ("by", "administrator")]))
        }
    }

    /// Unlinks `(providerID, subject)` from `username`'s account and ends the sessions it started.
    ///
    /// - Throws: `administration.forbidden` unless the caller is an administrator, `account.not_found`,
    ///   `sso.link_not_found`.
    public func unlink(username: String, providerID: String, subject: String, by caller: Caller) async throws {
        let settings = ResourcePolicySettings()
        try await store.write { writer in
            let acting = try ResolvedCaller(caller, in: writer)
            try acting.require(.administer, settings)
            guard let user = try writer.user(named: username) else {
                throw AdministrationError(.userNotFound, "no user named \(Username.quoted(username))")
            }
            guard
                let link = try writer.identityLinks(of: user.id).first(where: {
                    $0.providerID == providerID && $0.subject == subject
                })
            else {
                throw FederatedSignInError(.linkNotFound, "\(user.username) has no such linked identity.")
            }
            _ = try writer.revokeWebSessions(ofIdentityLink: link.id, at: Date())
            try writer.unlinkIdentity(link.id)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "user.unlink", target: "user:\(user.username)",
                    detail: [("provider", providerID), ("subject", subject), ("by", "administrator")]))
        }
    }
}
