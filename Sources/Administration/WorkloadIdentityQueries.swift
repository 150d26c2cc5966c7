import Authorization
import Foundation
import Storage
import WorkloadIdentity

/// CI workload identity for administrators: the trust policies config.d declares (configuration is the source of
/// truth, so they are read, never changed, here) and the decisions the token endpoint audited for them (actions
/// `workload.login` and `workload.refresh`), newest first. The REST API's `workload-identity` resources and the web
/// UI's admin page are both front doors over this one service; it holds the rule that only administrators see
/// either (a policy names the repositories a CI job may push to, and a decision the claims of a job).
public struct WorkloadIdentityQueries: Sendable {
    private let store: any Store
    private let settings: ResourcePolicySettings
    private let workload: WorkloadIdentitySettings
    private let audit: AuditQueries

    /// The audit action of a CI login's decision.
    public static let loginAction = "workload.login"
    /// The audit action of a refresh's decision.
    public static let refreshAction = "workload.refresh"

    /// A service over `store` answering for the configured `workload` settings.
    public init(store: any Store, settings: ResourcePolicySettings = .init(), workload: WorkloadIdentitySettings) {
        self.store = store
        self.settings = settings
        self.workload = workload
        self.audit = AuditQueries(store: store, settings: settings)
    }

    /// Every configured policy with its issuer, in file order (administrators only).
    public func policies(by actor: Caller) async throws -> [WorkloadPolicyEntry] {
        try await requireAdministrator(actor)
        return workload.policies.map(entry)
    }

    /// The policy named `name` with its issuer (administrators only).
    ///
    /// - Throws: `workload.policy_not_found` when config.d declares no such policy.
    public func policy(named name: String, by actor: Caller) async throws -> WorkloadPolicyEntry {
        try await requireAdministrator(actor)
        guard let policy = workload.policy(named: name) else {
            throw AdministrationError(.workloadPolicyNotFound, "no workload identity policy is named \"\(name)\"")
        }
        return entry(policy)
    }

    /// The audited decisions `filter` matches, newest first, `limit` from `offset` (administrators only).
    public func decisions(
        _ filter: WorkloadDecisionFilter = .init(), offset: Int = 0, limit: Int = 25, by actor: Caller
    ) async throws -> Page<WorkloadDecisionRecord> {
        var events = AuditEventFilter(action: filter.kind?.action ?? "workload.*", outcome: filter.outcome)
        // The token endpoint records the policy name as the decision's actor (the `docker login` username).
        events.actor = filter.policy
        let page = try await audit.list(events, offset: offset, limit: limit, by: actor)
        return Page(
            items: page.items.map(WorkloadDecisionRecord.init), total: page.total, offset: page.offset,
            limit: page.limit)
    }

    private func entry(_ policy: WorkloadPolicy) -> WorkloadPolicyEntry {
        let issuer = workload.issuer(named: policy.issuer)
        return WorkloadPolicyEntry(
            policy: policy, issuer: issuer, pinsImmutableClaim: issuer.map { $0.profile.isPinned(policy) } ?? false)
    }

    private func requireAdministrator(_ actor: Caller) async throws {
        let settings = settings
        try await store.read { reader in try ResolvedCaller(actor, in: reader).require(.administer, settings) }
    }
}

/// A trust policy as configured, with the issuer it names.
public struct WorkloadPolicyEntry: Sendable, Hashable {
    /// The policy (its `definedAt` says where config.d declares it).
    public var policy: WorkloadPolicy
    /// Its issuer (always present once the configuration loaded).
    public var issuer: WorkloadIssuer?
    /// Whether it requires one of its profile's immutable claims (false only under `allowMutableClaims: true`,
    /// which a page should flag: a re-created repository of the same name would inherit the policy).
    public var pinsImmutableClaim: Bool

    /// Creates an entry.
    public init(policy: WorkloadPolicy, issuer: WorkloadIssuer?, pinsImmutableClaim: Bool) {
        self.policy = policy
        self.issuer = issuer
        self.pinsImmutableClaim = pinsImmutableClaim
    }
}

/// Which decisions to list.
public struct WorkloadDecisionFilter: Sendable, Hashable {
    /// Logins or refreshes.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `docker login -u <policy> -p <JWT>` and every token request with the JWT.
        case login
        /// A `grant_type=refresh_token` request with a refresh token a CI login got.
        case refresh

        /// The audit action.
        public var action: String {
            self == .login ? WorkloadIdentityQueries.loginAction : WorkloadIdentityQueries.refreshAction
        }
    }

    /// Only this policy's decisions.
    public var policy: String?
    /// Only logins or only refreshes.
    public var kind: Kind?
    /// Only this outcome (`denied` for refusals).
    public var outcome: AuditOutcome?

    /// A filter; nil members match everything.
    public init(policy: String? = nil, kind: Kind? = nil, outcome: AuditOutcome? = nil) {
        self.policy = policy
        self.kind = kind
        self.outcome = outcome
    }
}

/// One audited decision, its detail read back: the policy and issuer, the claims that decided it, and for a
/// refusal the first condition that failed (`require.repository_id`, `token.expired`, …).
public struct WorkloadDecisionRecord: Sendable, Hashable {
    /// The audit event's id.
    public var id: AuditEvent.ID
    /// When it was decided (the last time, for coalesced repeats).
    public var time: Date
    /// Login or refresh (nil for an action of the family this version does not know).
    public var kind: WorkloadDecisionFilter.Kind?
    /// The audit outcome.
    public var outcome: AuditOutcome
    /// The policy asked for (the login's username).
    public var policy: String?
    /// The issuer's name.
    public var issuer: String?
    /// The first failed condition, for a refusal.
    public var failed: String?
    /// The audited claims present, in ``WorkloadClaims/audited`` order, then any other detail members by name.
    public var claims: [Claim]
    /// The client address.
    public var clientIP: String?
    /// How many identical decisions this one stands for.
    public var count: Int

    /// A claim name and its value as audited.
    public struct Claim: Sendable, Hashable {
        /// The claim's name.
        public var name: String
        /// Its value (a string, or a number's or boolean's JSON text).
        public var value: String
    }

    /// The detail members that are not claims (the token endpoint's `service`, and the scopes `requested` and
    /// `granted`, which are lists and so never read as claims).
    static let reserved: Set<String> = ["policy", "issuer", "failed", "service"]

    /// Reads `event`; a detail that is not a JSON object gives a record with no claims (nothing is lost: the
    /// audit log keeps the text).
    public init(_ event: AuditEvent) {
        id = event.id
        time = event.lastTime ?? event.time
        kind = WorkloadDecisionFilter.Kind.allCases.first { $0.action == event.action }
        outcome = event.outcome
        clientIP = event.clientIP
        count = event.count
        // The detail's scalar members as strings, read as a job token's claims are.
        let values = event.detail.flatMap { WorkloadClaims(payload: Array($0.utf8))?.values } ?? [:]
        policy = values["policy"] ?? event.actorName
        issuer = values["issuer"]
        failed = values["failed"]
        let order = WorkloadClaims.audited
        let known = order.compactMap { name in values[name].map { Claim(name: name, value: $0) } }
        let others = values.keys.filter { !Self.reserved.contains($0) && !order.contains($0) }.sorted()
            .map { Claim(name: $0, value: values[$0]!) }
        claims = known + others
    }

    /// The value of claim `name`, if audited.
    public subscript(claim name: String) -> String? { claims.first { $0.name == name }?.value }
}
