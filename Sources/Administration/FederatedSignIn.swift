import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import Storage

/// A redirect provider as federated sign-in uses it: the provider and its mapping rules.
public struct RedirectProviderEntry: Sendable {
    /// The provider.
    public var provider: any RedirectAuthenticating
    /// Its `mapping:` rules (sign-up, email verification, username collisions, groups).
    public var rules: MappingRules

    /// Creates an entry.
    public init(provider: any RedirectAuthenticating, rules: MappingRules) {
        self.provider = provider
        self.rules = rules
    }
}

/// The times federated sign-in works with.
public struct FederatedSignInTimes: Sendable, Hashable {
    /// How long a begun login may take before its callback is refused. Default 10 minutes.
    public var loginLifetime: TimeInterval
    /// How often each identity is re-checked at its provider. Default 1 hour.
    public var revalidateEvery: TimeInterval
    /// How long a provider may fail to answer revalidation before its identities are suspended. Default 24 hours.
    public var revalidationGrace: TimeInterval

    /// Describes the times.
    public init(
        loginLifetime: TimeInterval = 600, revalidateEvery: TimeInterval = 3600, revalidationGrace: TimeInterval = 86400
    ) {
        self.loginLifetime = loginLifetime
        self.revalidateEvery = revalidateEvery
        self.revalidationGrace = revalidationGrace
    }
}

/// A login just begun: where to send the browser, and the value of the cookie that binds the login to it.
public struct BegunFederatedLogin: Sendable, CustomStringConvertible {
    /// The provider's authorization URL.
    public var authorizationURL: URL
    /// The binding cookie's value (random; only its SHA-256 is stored).
    public var browserBinding: String

    /// A log-safe summary.
    public var description: String { "BegunFederatedLogin(\(authorizationURL.host ?? "?"))" }
}

/// What a finished callback did.
public enum FederatedLoginResult: Sendable {
    /// The person signed in (an account was created first if the identity was new): the session, and where to go.
    case signedIn(StartedWebSession, next: String)
    /// The identity was linked to the signed-in account.
    case linked(provider: String, next: String)
}

/// Browser sign-in at external identity providers (OAuth2, OpenID Connect), from the redirect to the session:
/// the rules of issue 13 §2, in one place for every front door.
///
/// - The login state lives in the store (`LoginState`), keyed by the SHA-256 of a random `state` and bound to
///   the browser by the SHA-256 of a second random value in a cookie: any instance finishes a login another
///   began, a callback is accepted once, and a callback carried to another browser is refused.
/// - An identity is `(provider, issuer, subject)`; it is never linked to an account by email. A new identity
///   signs up through `IdentityMapper` (its rules: sign-up on or off, username collisions, groups → teams,
///   admin groups); linking to an existing account is done by its signed-in owner (`beginLink`) or an
///   administrator (`FederatedIdentityAdministration`).
/// - The provider's grant is kept sealed (`SecretBox`) for revalidation and sign-out.
///
/// Every refusal throws `FederatedSignInError`, is audited (`sso.sign_in` / `sso.link`), and creates nothing.
/// `StoreError` when the database fails.
public struct FederatedSignIn: Sendable {
    /// The audit action of sign-ins.
    public static let signInAction = "sso.sign_in"
    /// The audit action of links made from the profile.
    public static let linkAction = "sso.link"
    /// The longest `next` kept.
    static let nextLength = 2048

    let store: any Store
    let providers: [String: RedirectProviderEntry]
    let mapper: IdentityMapper
    let sessions: WebSessionService
    let grants: GrantSealer?
    let times: FederatedSignInTimes
    let now: @Sendable () -> Date

    /// Creates the service over the enabled redirect providers; `grantKey` seals kept grants (nil keeps none).
    public init(
        store: any Store, providers: [RedirectProviderEntry], mapper: IdentityMapper, sessions: WebSessionService,
        grantKey: AEADKey?, times: FederatedSignInTimes = .init(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.providers = Dictionary(providers.map { ($0.provider.id.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
        self.mapper = mapper
        self.sessions = sessions
        self.grants = grantKey.map(GrantSealer.init)
        self.times = times
        self.now = now
    }

    /// The ids of the providers this service signs in with.
    public var providerIDs: [String] { providers.keys.sorted() }

    /// The display name of a provider, if it is one of these.
    public func displayName(of providerID: String) -> String? { providers[providerID]?.provider.displayName }

    /// `next` when it is a path on this site (one leading `/`, no scheme, host or backslash, no control
    /// characters, not the sign-in pages themselves), else `/`. Anything else would make the sign-in an open
    /// redirect.
    public static func localPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"),
            next.utf8.count <= nextLength, !next.contains("\\"),
            !next.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }),
            !next.hasPrefix("/sign-in"), !next.hasPrefix("/sign-out")
        else { return "/" }
        return next
    }

    // MARK: - Begin

    /// Begins a sign-in at `providerID`: stores the login state and answers where to send the browser.
    ///
    /// - Throws: `sso.unknown_provider`; `sso.provider_unavailable` / `sso.provider_answer` when the provider
    ///   cannot start (its discovery document unreachable).
    ///
    /// `browserBinding` is the binding cookie the browser holds already, if any: reused, so two logins begun in
    /// two tabs of one browser both finish.
    public func beginSignIn(providerID: String, next: String?, callbackURL: URL, browserBinding: String? = nil)
        async throws -> BegunFederatedLogin
    {
        try await begin(
            providerID: providerID, intent: .signIn, userID: nil, next: next, callbackURL: callbackURL,
            browserBinding: browserBinding)
    }

    /// Begins linking an identity at `providerID` to the signed-in `userID` (from the profile).
    public func beginLink(
        providerID: String, for userID: User.ID, next: String?, callbackURL: URL, browserBinding: String? = nil
    ) async throws -> BegunFederatedLogin {
        try await begin(
            providerID: providerID, intent: .link, userID: userID, next: next, callbackURL: callbackURL,
            browserBinding: browserBinding)
    }

    private func begin(
        providerID: String, intent: LoginState.Intent, userID: User.ID?, next: String?, callbackURL: URL,
        browserBinding: String?
    ) async throws -> BegunFederatedLogin {
        guard let entry = providers[providerID] else {
            throw FederatedSignInError(
                .unknownProvider,
                "No sign-in provider is configured with the id '\(InertText.escaped(providerID, limit: 64))'.")
        }
        let state = Base64URL.encode(SecureRandom.bytes(count: 32))
        let binding =
            browserBinding.flatMap { Self.isRandomValue($0) ? $0 : nil }
            ?? Base64URL.encode(SecureRandom.bytes(count: 32))
        let start: RedirectStart
        do {
            start = try await entry.provider.beginLogin(callbackURL: callbackURL, state: state)
        } catch let error as ProviderError {
            throw Self.refusal(for: error, provider: entry.provider.displayName)
        }
        let pending = String(decoding: try JSONEncoder().encode(start.pending), as: UTF8.self)
        let date = now()
        let row = LoginState(
            stateHash: Self.hash(state), browserHash: Self.hash(binding), providerID: providerID, intent: intent,
            userID: userID, pending: pending, next: Self.localPath(next), createdAt: date,
            expiresAt: date.addingTimeInterval(times.loginLifetime))
        try await store.write { try $0.createLoginState(row) }
        return BegunFederatedLogin(authorizationURL: start.authorizationURL, browserBinding: binding)
    }

    // MARK: - Complete

    /// What the callback request carried, as the front door read it.
    public struct Callback: Sendable {
        /// The query parameters.
        public var parameters: [String: String]
        /// The binding cookie's value, if the browser sent one.
        public var browserBinding: String?
        /// The signed-in account making the request, if any (a link must be finished by the account that began it).
        public var signedInUserID: User.ID?
        /// The browser's session cookie, ended when a new session starts.
        public var previousSession: String?
        /// The user agent, for the sessions list.
        public var client: String?
        /// The client address.
        public var address: String

        /// Describes a callback.
        public init(
            parameters: [String: String], browserBinding: String?, signedInUserID: User.ID?, previousSession: String?,
            client: String?, address: String
        ) {
            self.parameters = parameters
            self.browserBinding = browserBinding
            self.signedInUserID = signedInUserID
            self.previousSession = previousSession
            self.client = client
            self.address = address
        }
    }

    /// Finishes a login at `providerID` from its callback: checks and consumes the state, lets the provider
    /// check its answer, maps the identity, keeps the grant and starts a session (or makes the link).
    ///
    /// - Throws: `FederatedSignInError` for every refusal (audited; nothing created), `StoreError`.
    public func complete(providerID: String, _ callback: Callback) async throws -> FederatedLoginResult {
        var audit = AuditNote(provider: providerID, address: callback.address)
        do {
            let result = try await completeChecked(providerID: providerID, callback, audit: &audit)
            await record(audit, outcome: .success, reason: nil)
            return result
        } catch let error as FederatedSignInError {
            await record(audit, outcome: error.code == .providerUnavailable ? .failure : .denied, reason: error)
            throw error
        }
    }

    private func completeChecked(providerID: String, _ callback: Callback, audit: inout AuditNote) async throws
        -> FederatedLoginResult
    {
        guard let entry = providers[providerID] else {
            throw FederatedSignInError(.unknownProvider, "No sign-in provider is configured with this id.")
        }
        let state = try await consumeState(providerID: providerID, callback)
        audit.intent = state.intent
        let display = entry.provider.displayName
        if let error = callback.parameters["error"] {
            let description =
                callback.parameters["error_description"].map { ": " + InertText.escaped($0, limit: 300) } ?? ""
            throw FederatedSignInError(
                .providerRefused,
                "\(display) answered '\(InertText.escaped(error, limit: 64))'\(description). Nothing was changed; "
                    + "you can try again.")
        }
        let pending =
            (try? JSONDecoder().decode(PendingLogin.self, from: Data(state.pending.utf8)))
            ?? PendingLogin(data: [:])
        let login: RedirectLogin
        do {
            login = try await entry.provider.completeLogin(
                CallbackParameters(values: callback.parameters), pending: pending)
        } catch let error as ProviderError {
            throw Self.refusal(for: error, provider: display)
        }
        var identity = login.identity
        identity.provider = entry.provider.id
        identity.origin = .federated
        identity.credential = .externalLogin
        audit.subject = identity.subject
        guard !identity.subject.isEmpty, !login.issuer.isEmpty else {
            throw FederatedSignInError(.providerAnswer, "\(display) answered without a subject or an issuer.")
        }
        if entry.rules.requiresVerifiedEmail, identity.email != nil, !identity.emailVerified {
            throw FederatedSignInError(
                .emailUnverified,
                "\(display) has not verified your email address. Verify it there, then sign in again.")
        }
        switch state.intent {
        case .signIn:
            return try await signIn(identity, login: login, entry: entry, next: state.next, callback, audit: &audit)
        case .link:
            guard let owner = state.userID, callback.signedInUserID == owner else {
                throw FederatedSignInError(
                    .linkOwnerChanged,
                    "This link was begun by another account than the one signed in now. Sign in again and retry.")
            }
            try await link(identity, login: login, entry: entry, to: owner, audit: &audit)
            return .linked(provider: display, next: state.next)
        }
    }

    /// Reads, checks and deletes the login state in one write: each state is accepted once.
    private func consumeState(providerID: String, _ callback: Callback) async throws -> LoginState {
        guard let state = callback.parameters["state"], !state.isEmpty, state.utf8.count <= 512,
            let binding = callback.browserBinding, !binding.isEmpty, binding.utf8.count <= 512
        else {
            throw FederatedSignInError(
                .stateMissing,
                "The answer from the identity provider lacks the sign-in state, or this browser lacks the cookie that "
                    + "began the sign-in. Start again from the sign-in page.")
        }
        let stateHash = Self.hash(state)
        guard let stored = try await store.write({ try $0.consumeLoginState(stateHash: stateHash) }) else {
            throw FederatedSignInError(
                .stateUnknown,
                "This sign-in was already finished, or it is unknown. Start again from the sign-in page.")
        }
        guard ConstantTime.equals(stored.browserHash, Self.hash(binding)), stored.providerID == providerID else {
            throw FederatedSignInError(
                .stateMismatch,
                "This sign-in was begun in another browser (or with another provider). Start again from the sign-in "
                    + "page in this browser.")
        }
        guard now() < stored.expiresAt else {
            throw FederatedSignInError(
                .stateExpired, "This sign-in took too long and expired. Start again from the sign-in page.")
        }
        return stored
    }

    private func signIn(
        _ identity: ExternalIdentity, login: RedirectLogin, entry: RedirectProviderEntry, next: String,
        _ callback: Callback, audit: inout AuditNote
    ) async throws -> FederatedLoginResult {
        var identity = identity
        let display = entry.provider.displayName
        let provider = identity.provider.rawValue, subject = identity.subject
        let linked = try await store.read { reader -> (IdentityLink, FederatedIdentity?)? in
            guard let user = try reader.user(linkedTo: provider, subject: subject),
                let link = try reader.identityLinks(of: user.id).first(where: {
                    $0.providerID == provider && $0.subject == subject
                })
            else { return nil }
            return (link, try reader.federatedIdentity(linkID: link.id))
        }
        if let record = linked?.1, record.issuer != login.issuer {
            throw Self.issuerMismatch(display)
        }
        if linked == nil {
            // A new identity: its name made valid by the username rule (the mapper refuses what cannot be).
            identity.username = Username.sanitized(identity.username) ?? identity.username
        }
        if let record = linked?.1, record.suspendedAt != nil {
            // The provider vouched again: the suspension ends (and the account is enabled if it disabled it).
            try await liftSuspension(record)
        }
        let userID: User.ID
        switch try await mapper.map(identity, rules: entry.rules) {
        case .mapped(let id): userID = id
        case .refused(let refusal): throw Self.refusal(for: refusal, provider: display)
        }
        audit.userID = userID
        let link = try await keep(login, identity: identity, userID: userID, provider: display)
        let started = try await sessions.start(
            for: userID, client: callback.client, address: callback.address, replacing: callback.previousSession)
        try await store.write { try $0.attachIdentityLink(link, toSession: started.session.id) }
        audit.username = started.session.user.username
        return .signedIn(started, next: next)
    }

    private func link(
        _ identity: ExternalIdentity, login: RedirectLogin, entry: RedirectProviderEntry, to owner: User.ID,
        audit: inout AuditNote
    ) async throws {
        let display = entry.provider.displayName
        let provider = identity.provider.rawValue, subject = identity.subject
        let username = try await store.write { writer -> String in
            guard let user = try writer.user(id: owner), user.isEnabled else {
                throw FederatedSignInError(.linkOwnerChanged, "The account that began this link no longer signs in.")
            }
            if let current = try writer.user(linkedTo: provider, subject: subject) {
                guard current.id == user.id else {
                    throw FederatedSignInError(
                        .linkedElsewhere,
                        "This \(display) identity is linked to another Portcullis account already. Unlink it there "
                            + "first, or ask an administrator.")
                }
                return user.username
            }
            let link = try writer.linkIdentity(providerID: provider, subject: subject, to: user.id)
            try writer.saveFederatedIdentity(
                FederatedIdentity(
                    linkID: link.id, providerID: provider, subject: subject, userID: user.id, issuer: login.issuer))
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "user.link", outcome: .success, actorID: user.id, actorName: user.username,
                    target: "user:\(user.username)",
                    detail: AuditDetail.json(["provider": provider, "subject": subject, "by": "owner"])))
            return user.username
        }
        audit.userID = owner
        audit.username = username
        // The first sync of the groups, and the grant kept, as at a sign-in.
        if case .refused(let refusal) = try await mapper.map(identity, rules: entry.rules) {
            throw Self.refusal(for: refusal, provider: display)
        }
        _ = try await keep(login, identity: identity, userID: owner, provider: display)
    }

    /// Saves the issuer and the sealed grant of a login on its link, and notes the link was used; the link's id.
    private func keep(_ login: RedirectLogin, identity: ExternalIdentity, userID: User.ID, provider display: String)
        async throws -> IdentityLink.ID
    {
        let date = now()
        let provider = identity.provider.rawValue, subject = identity.subject, issuer = login.issuer
        let sealed = try login.grant.flatMap { grant in try grants?.seal(grant, provider: provider, subject: subject) }
        return try await store.write { writer -> IdentityLink.ID in
            guard
                let link = try writer.identityLinks(of: userID).first(where: {
                    $0.providerID == provider && $0.subject == subject
                })
            else { throw FederatedSignInError(.accountRefused, "The identity was unlinked meanwhile. Sign in again.") }
            var record =
                try writer.federatedIdentity(linkID: link.id)
                ?? FederatedIdentity(
                    linkID: link.id, providerID: provider, subject: subject, userID: userID, issuer: issuer)
            guard record.issuer == issuer else { throw Self.issuerMismatch(display) }
            record.sealedGrant = sealed ?? record.sealedGrant
            record.checkedAt = date
            record.failingSince = nil
            try writer.saveFederatedIdentity(record)
            try writer.touchIdentityLink(link.id, at: date)
            return link.id
        }
    }

    /// Ends a suspension: the record's suspension cleared, and the account enabled when the suspension had disabled it.
    func liftSuspension(_ record: FederatedIdentity) async throws {
        let date = now()
        try await store.write { writer in
            guard var current = try writer.federatedIdentity(linkID: record.linkID), current.suspendedAt != nil else {
                return
            }
            if current.disabledAccount { try writer.setEnabled(true, for: current.userID) }
            current.suspendedAt = nil
            current.suspensionReason = nil
            current.disabledAccount = false
            current.failingSince = nil
            current.checkedAt = date
            try writer.saveFederatedIdentity(current)
            let username = try writer.user(id: current.userID)?.username ?? "?"
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "sso.identity_restored", outcome: .success, actorName: "sso:\(current.providerID)",
                    target: "user:\(username)", detail: AuditDetail.json(["provider": current.providerID]), time: date))
        }
    }

    // MARK: - Sign-out

    /// Signs out: ends the session the cookie names; when it was started through a provider that can, revokes
    /// the kept grant there (best effort) and answers the provider's end-session URL returning to `returnURL`.
    /// Nil: go to the sign-in page.
    public func signOut(sessionCookie: String, returnURL: URL) async throws -> URL? {
        guard let active = try await sessions.resolve(sessionCookie) else {
            try await sessions.end(sessionCookie)
            return nil
        }
        let found = try await store.read { reader -> FederatedIdentity? in
            guard let linkID = try reader.identityLink(ofSession: active.id) else { return nil }
            return try reader.federatedIdentity(linkID: linkID)
        }
        try await sessions.end(sessionCookie)
        guard let record = found, let entry = providers[record.providerID],
            let signingOut = entry.provider as? any RedirectSigningOut
        else { return nil }
        let grant = record.sealedGrant.flatMap {
            try? grants?.open($0, provider: record.providerID, subject: record.subject)
        }
        if let grant, grant.refreshToken != nil {
            var outcome = AuditOutcome.success
            var detail = ["provider": record.providerID]
            do {
                try await signingOut.revoke(grant)
                try await store.write { writer in
                    guard var current = try writer.federatedIdentity(linkID: record.linkID) else { return }
                    current.sealedGrant = nil
                    try writer.saveFederatedIdentity(current)
                }
            } catch {
                outcome = .failure
                detail["error"] = String(describing: error)
            }
            let event = NewAuditEvent(
                action: "sso.grant_revoked", outcome: outcome, actorID: active.user.id,
                actorName: active.user.username, target: "user:\(active.user.username)",
                detail: AuditDetail.json(detail))
            _ = try? await store.write { try $0.appendAuditEvent(event) }
        }
        return await signingOut.signOutURL(grant: grant, returnURL: returnURL)
    }

    // MARK: - Helpers

    static func hash(_ value: String) -> String { Hex.encode(Digest.sha256(value)) }

    /// Whether `value` has the shape of the random values this service makes (32 bytes in base64url).
    static func isRandomValue(_ value: String) -> Bool {
        value.utf8.count == 43
            && value.utf8.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
    }

    static func issuerMismatch(_ display: String) -> FederatedSignInError {
        FederatedSignInError(
            .issuerMismatch,
            "Your \(display) identity is linked under another issuer than the one that vouched now. Ask an "
                + "administrator: the provider's issuer may have changed.")
    }

    static func refusal(for error: ProviderError, provider display: String) -> FederatedSignInError {
        switch error.code {
        case .unavailable:
            FederatedSignInError(
                .providerUnavailable,
                "\(display) is not answering, so the sign-in cannot be finished. Try again in a moment.")
        case .accessDenied:
            // The provider vouched for the person; a configured limit (organisation, team, group, workspace,
            // domain) refuses them, and the reason names it.
            FederatedSignInError(
                .accountRefused,
                "\(display) signed you in, but this server only admits some of its users: "
                    + "\(InertText.escaped(error.reason, limit: 300)). Ask an administrator if you should have access.")
        case .misconfigured, .protocolViolation, .internalFailure:
            FederatedSignInError(
                .providerAnswer,
                "\(display) answered something this server could not accept (\(InertText.escaped(error.reason, limit: 200))). "
                    + "Nothing was changed; try again, or tell an administrator if it keeps happening.")
        }
    }

    static func refusal(for refusal: MappingRefusal, provider display: String) -> FederatedSignInError {
        let message: String
        switch refusal {
        case .provisioningDisabled:
            message =
                "No Portcullis account is linked to this \(display) identity, and sign-up with \(display) is turned "
                + "off. Ask an administrator to create your account or link this identity to it."
        case .usernameTaken(let username, _):
            message =
                "The username \(Username.quoted(username)) belongs to another Portcullis account. If it is yours, sign "
                + "in to it another way and link \(display) from your profile; otherwise ask an administrator."
        case .accountDisabled:
            message = "The Portcullis account linked to this \(display) identity is disabled. Ask an administrator."
        case .invalidUsername(let username, let reason):
            message =
                "No account can be made for the name \(Username.quoted(username)) (\(reason)). Ask an administrator "
                + "to create or link one."
        }
        return FederatedSignInError(.accountRefused, message)
    }

    /// What one callback's audit entry says.
    struct AuditNote {
        var provider: String
        var address: String
        var intent: LoginState.Intent?
        var subject: String?
        var userID: User.ID?
        var username: String?
    }

    private func record(_ note: AuditNote, outcome: AuditOutcome, reason: FederatedSignInError?) async {
        var detail = ["provider": note.provider]
        if let subject = note.subject { detail["subject"] = InertText.escaped(subject, limit: 256) }
        if let reason {
            detail["code"] = reason.code.rawValue
            detail["reason"] = reason.reason
        }
        let action = note.intent == .link ? Self.linkAction : Self.signInAction
        let event = NewAuditEvent(
            action: action, outcome: outcome, actorID: note.userID, actorName: note.username,
            target: note.username.map { "user:\($0)" }, clientIP: note.address, detail: AuditDetail.json(detail),
            time: now())
        _ = try? await store.write { try $0.appendAuditEvent(event) }
    }
}
