import Authorization
import Diagnostics
import Foundation
import HTTPCore
import Storage
import WorkloadIdentity

/// CI workload logins at the token endpoint: `docker login -u <policy> -p <JWT>`, and the refreshes of the
/// refresh tokens they receive. Each decision is one audit entry, `workload.login` or `workload.refresh`.
extension TokenEndpoint {
    /// What a workload decision needs besides the token.
    struct WorkloadRequest {
        var service: String
        var scopes: [ResourceScope]
        var requestedTexts: [String]
        var wantsRefresh: Bool
        var clientIP: String
        var oauth: Bool
    }

    /// Decides a password login under trust policy `policy` with job token `compact`.
    func workloadLogin(_ compact: String, policy: WorkloadPolicy, request: WorkloadRequest) async -> HTTPResponse {
        var audit = WorkloadAudit(
            action: WorkloadAudit.loginAction, policy: policy.name, issuer: policy.issuer, clientIP: request.clientIP,
            service: request.service, requested: request.requestedTexts)
        guard let workloads else { return TokenEndpointError.internalFailure.response(oauth: request.oauth) }
        do {
            switch try await workloads.verify(compact, for: policy) {
            case .refused(let refusal, let claims):
                audit.failed = refusal.failed
                audit.claims = claims?.auditedValues ?? []
                await self.audit.record(audit.event(outcome: .denied, at: now()))
                return TokenEndpointError.workloadRefused(policy: policy.name, refusal).response(oauth: request.oauth)
            case .accepted(let workload):
                audit.claims = workload.claims.auditedValues
                audit.jti = workload.jti
                var refreshToken: String?
                if request.wantsRefresh {
                    refreshToken = try await workloads.issueRefreshToken(for: workload, service: request.service)
                }
                return try await workloadIssue(workload, refreshToken: refreshToken, request: request, audit: &audit)
            }
        } catch {
            return await workloadFailure(error, audit: audit, oauth: request.oauth)
        }
    }

    /// Redeems a workload refresh token against the policy as configured now.
    func workloadRefresh(_ token: String, request: WorkloadRequest) async -> HTTPResponse {
        var audit = WorkloadAudit(
            action: WorkloadAudit.refreshAction, policy: nil, issuer: nil, clientIP: request.clientIP,
            service: request.service, requested: request.requestedTexts)
        guard let workloads else { return TokenEndpointError.internalFailure.response(oauth: true) }
        do {
            switch try await workloads.redeem(token, service: request.service) {
            case .refused(let policy, let rejection):
                audit.policy = policy
                audit.failed = "refresh." + rejection.rawValue
                await self.audit.record(audit.event(outcome: .denied, at: now()))
                return TokenEndpointError.invalidGrant(rejection).response(oauth: true)
            case .policyRefused(let stored, let refusal, let claims):
                audit.policy = stored.policy
                audit.issuer = stored.issuer
                audit.claims = claims.auditedValues
                audit.jti = stored.jti
                audit.failed = refusal.failed
                await self.audit.record(audit.event(outcome: .denied, at: now()))
                return TokenEndpointError.workloadRefused(policy: stored.policy, refusal).response(oauth: true)
            case .valid(let workload):
                audit.policy = workload.policy.name
                audit.issuer = workload.issuer.name
                audit.claims = workload.claims.auditedValues
                audit.jti = workload.jti
                return try await workloadIssue(workload, refreshToken: nil, request: request, audit: &audit)
            }
        } catch {
            return await workloadFailure(error, audit: audit, oauth: true)
        }
    }

    /// Mints the token for an accepted workload: the intersection of the policy's grant and the scopes
    /// asked for, in namespaces that exist (as for any non-administrator; the registry would otherwise take a
    /// push Portcullis knows nothing of), `delete` only while deletion is enabled, through the same minter as
    /// every other identity, with the policy's name as subject.
    private func workloadIssue(
        _ workload: VerifiedWorkload, refreshToken: String?, request: WorkloadRequest, audit: inout WorkloadAudit
    ) async throws -> HTTPResponse {
        let deleteEnabled = settings.authorization.deleteEnabled
        var wanted: [(ResourceScope, Set<String>)] = []
        for scope in request.scopes where scope.type == ResourceScope.repositoryType {
            var actions = workload.policy.grantedActions(onRepository: scope.name, requested: scope.actions)
            if !deleteEnabled { actions.remove(RegistryAction.delete) }
            if !actions.isEmpty { wanted.append((scope, actions)) }
        }
        let namespaces = Set(wanted.compactMap { $0.0.namespaceName })
        let existing = try await workloads?.existingNamespaces(namespaces) ?? []
        let grants = wanted.compactMap { scope, actions -> GrantedScope? in
            guard let namespace = scope.namespaceName, existing.contains(namespace) else {
                return nil
            }
            return GrantedScope(
                requested: scope, granted: ResourceScope(type: scope.type, name: scope.name, actions: actions))
        }
        let granted = GrantedAccess(grants)
        audit.granted = granted.texts
        let issued = try minter.mint(
            subject: workload.policy.name, audience: request.service, access: granted.claims, now: now())
        guard await self.audit.recordConfirmingStorage(audit.event(outcome: .success, at: now())) else {
            throw TokenEndpointError.auditUnavailable
        }
        return tokenResponse(issued, granted: granted, refreshToken: refreshToken, oauth: request.oauth)
    }

    private func workloadFailure(_ error: any Error, audit: WorkloadAudit, oauth: Bool) async -> HTTPResponse {
        var audit = audit
        let answer: TokenEndpointError
        switch error {
        case let error as TokenEndpointError: answer = error
        case let error as WorkloadLoginError:
            logger.warning("CI issuer unavailable", ["issuer": error.issuer, "error": error.reason])
            answer = .providerUnavailable("CI issuer " + error.issuer)
        default:
            logger.error("workload login failed", ["error": "\(error)"])
            answer = .internalFailure
        }
        audit.failed = (error as? WorkloadLoginError)?.code.rawValue ?? "internal"
        if case .auditUnavailable = answer {
        } else {
            await self.audit.record(audit.event(outcome: .failure, at: now()))
        }
        return answer.response(oauth: oauth)
    }
}

/// One workload decision as an audit entry: actor the policy, target the service, and a JSON detail with the
/// policy, issuer, the deciding claims present, the scopes asked for and granted, and `failed` when refused.
struct WorkloadAudit {
    static let loginAction = "workload.login"
    static let refreshAction = "workload.refresh"

    var action: String
    var policy: String?
    var issuer: String?
    var clientIP: String
    var service: String
    var requested: [String]
    var granted: [String] = []
    var claims: [(String, String)] = []
    var jti: String?
    var failed: String?

    init(
        action: String, policy: String?, issuer: String?, clientIP: String, service: String, requested: [String]
    ) {
        self.action = action
        self.policy = policy
        self.issuer = issuer
        self.clientIP = clientIP
        self.service = service
        self.requested = requested
    }

    func event(outcome: AuditOutcome, at time: Date) -> NewAuditEvent {
        var members: [(String, String)] = []
        if let policy { members.append(("policy", JSONText.quoted(policy))) }
        if let issuer { members.append(("issuer", JSONText.quoted(issuer))) }
        for (name, value) in claims where name != "jti" { members.append((name, JSONText.quoted(value))) }
        if let jti = jti ?? claims.first(where: { $0.0 == "jti" })?.1 {
            members.append(("jti", JSONText.quoted(String(jti.prefix(256)))))
        }
        members.append(("service", JSONText.quoted(String(service.prefix(256)))))
        members.append(("requested", Self.list(requested)))
        members.append(("granted", Self.list(granted)))
        if let failed { members.append(("failed", JSONText.quoted(failed))) }
        return NewAuditEvent(
            action: action, outcome: outcome, actorName: policy, target: "service:" + String(service.prefix(256)),
            clientIP: clientIP, detail: JSONText.object(members), time: time)
    }

    private static func list(_ texts: [String]) -> String {
        "["
            + texts.prefix(TokenRequestAudit.maximumScopes).map { JSONText.quoted(String($0.prefix(256))) }
            .joined(separator: ",") + "]"
    }
}
