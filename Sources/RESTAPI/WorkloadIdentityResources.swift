import Administration
import Foundation
import Storage
import WorkloadIdentity

/// `workload-identity/…`: the CI trust policies config.d declares and the decisions the token endpoint audited,
/// read through `WorkloadIdentityQueries` (administrators only; configuration stays the source of truth, so
/// nothing here writes).
public struct WorkloadIdentityResources: Sendable {
    private let queries: WorkloadIdentityQueries

    /// Resources over `queries`.
    public init(queries: WorkloadIdentityQueries) { self.queries = queries }

    static let claimValue = JSONSchema.object([
        .required("claim", .anyString), .required("value", .anyString, "Compared as a string, exactly."),
    ])
    static let claimPatterns = JSONSchema.object([
        .required("claim", .anyString),
        .required("patterns", .array(.anyString), "Globs with * as the only wildcard; any one may match."),
    ])

    /// A trust policy as configured.
    static let policySchema = JSONSchema.named(
        "WorkloadPolicy",
        .object([
            .required("name", .anyString, "The docker login username CI jobs use."),
            .required("issuer", .anyString, "The issuer's name in config.d."),
            .required("issuer_url", .nullable(.anyString), "The issuer URL tokens must carry as iss."),
            .required("profile", .nullable(.string(allowed: WorkloadProfile.allCases.map(\.rawValue)))),
            .required("audiences", .array(.anyString), "The accepted aud values (the issuer's)."),
            .required("algorithms", .array(.anyString), "The accepted signature algorithms (the issuer's)."),
            .required("require", .array(Self.claimValue), "Claims that must equal these values, all of them."),
            .required("match", .array(Self.claimPatterns), "Claims that must match one of their globs, all of them."),
            .required("deny", .array(Self.claimPatterns), "Claims whose match refuses the token."),
            .required(
                "grant",
                .array(
                    .object([
                        .required("namespace", .anyString), .required("repositories", .array(.anyString)),
                        .required("actions", .array(.string(allowed: WorkloadAction.allCases.map(\.rawValue)))),
                    ]))),
            .required("session_seconds", .integer(minimum: 0), "Lifetime of a login's refresh token."),
            .required("jti", .string(allowed: WorkloadPolicy.JTIUse.allCases.map(\.rawValue))),
            .required("allow_mutable_claims", .boolean),
            .required(
                "pins_immutable_claim", .boolean,
                "Whether it requires an id its profile names (false: a re-created repository would inherit it)."),
            .required("defined_at", .anyString, "The config.d file and line."),
        ]))

    /// An audited decision.
    static let decisionSchema = JSONSchema.named(
        "WorkloadDecision",
        .object([
            .required("id", .integer(), "The audit event's id."),
            .required("time", .timestamp),
            .required("kind", .nullable(.string(allowed: WorkloadDecisionFilter.Kind.allCases.map(\.rawValue)))),
            .required("outcome", .string(allowed: AuditOutcome.allCases.map(\.rawValue))),
            .required("policy", .nullable(.anyString)),
            .required("issuer", .nullable(.anyString)),
            .required(
                "failed", .nullable(.anyString),
                "For a refusal, the first condition that failed: require.<claim>, match.<claim>, token.expired, …"),
            .required(
                "claims", .array(.object([.required("name", .anyString), .required("value", .anyString)])),
                "The claims that decided it (repository, ids, ref, workflow, run, jti), as audited."),
            .required("client_ip", .nullable(.anyString)),
            .required("count", .integer(), "How many identical decisions this one stands for."),
        ]))

    static let policyName = APIParameter.path("name", .string(minLength: 1, maxLength: 256), "The policy's name.")

    /// The routes.
    public var routes: [APIRoute] {
        [
            APIRoute(
                .get, "/workload-identity/policies", operationID: "listWorkloadPolicies",
                summary: "The CI workload identity trust policies config.d declares (administrators).",
                tags: ["workload-identity"], access: .admin,
                listing: APIListing(sortFields: ["name"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "One page of policies.", .array(Self.policySchema))]
            ) { [queries] request in
                let all = try await ContentAPI.call {
                    try await queries.policies(by: try request.requireCaller().serviceCaller)
                }
                let ordered = PeopleSupport.sorted(all, request) { entry, _ in entry.policy.name }
                return .page(PeopleSupport.slice(ordered, request).map(Self.json), total: all.count, of: request)
            },
            APIRoute(
                .get, "/workload-identity/policies/{name}", operationID: "getWorkloadPolicy",
                summary: "One trust policy (administrators).", tags: ["workload-identity"], access: .admin,
                parameters: [Self.policyName],
                responses: [APIResponseSpec(.ok, "The policy.", Self.policySchema)]
            ) { [queries] request in
                let name = request.pathParameters["name"] ?? ""
                let entry = try await ContentAPI.call {
                    try await queries.policy(named: name, by: try request.requireCaller().serviceCaller)
                }
                return .ok(Self.json(entry))
            },
            APIRoute(
                .get, "/workload-identity/decisions", operationID: "listWorkloadDecisions",
                summary: "CI logins and refreshes as audited, newest first, with the deciding claims (administrators).",
                tags: ["workload-identity"], access: .admin,
                parameters: [
                    .query("policy", .string(minLength: 1, maxLength: 256), "Only this policy's decisions."),
                    .query(
                        "kind", .string(allowed: WorkloadDecisionFilter.Kind.allCases.map(\.rawValue)),
                        "Only logins or only refreshes."),
                    .query(
                        "outcome", .string(allowed: AuditOutcome.allCases.map(\.rawValue)),
                        "Only this outcome (denied: refused)."),
                ],
                listing: APIListing(sortFields: ["time"], defaultSort: "-time"),
                responses: [APIResponseSpec(.ok, "One page of decisions.", .array(Self.decisionSchema))]
            ) { [queries] request in
                guard let page = request.page else {
                    throw APIError.internalError(requestID: request.http.context.requestID)
                }
                if page.sort.contains(where: { !$0.descending }) {
                    throw APIError.invalidParameter(
                        "sort", code: "SORT_INVALID", "Decisions are listed newest first: sort=-time.")
                }
                let filter = WorkloadDecisionFilter(
                    policy: request.query("policy"),
                    kind: request.query("kind").flatMap(WorkloadDecisionFilter.Kind.init(rawValue:)),
                    outcome: request.query("outcome").flatMap(AuditOutcome.init(rawValue:)))
                let found = try await ContentAPI.call {
                    try await queries.decisions(
                        filter, offset: page.offset, limit: page.perPage,
                        by: try request.requireCaller().serviceCaller)
                }
                return ContentAPI.page(found, of: request, Self.json)
            },
        ]
    }

    static func json(_ entry: WorkloadPolicyEntry) -> JSONValue {
        let policy = entry.policy
        func patterns(_ list: [ClaimPatterns]) -> JSONValue {
            .array(
                list.map {
                    .object([("claim", .string($0.claim)), ("patterns", .array($0.patterns.map(JSONValue.string)))])
                })
        }
        return .object([
            ("name", .string(policy.name)),
            ("issuer", .string(policy.issuer)),
            ("issuer_url", JSONValue.optional(entry.issuer?.issuer)),
            ("profile", JSONValue.optional(entry.issuer?.profile.rawValue)),
            ("audiences", .array((entry.issuer?.audiences ?? []).map(JSONValue.string))),
            ("algorithms", .array((entry.issuer?.algorithms ?? []).map { .string($0.rawValue) })),
            (
                "require",
                .array(policy.require.map { .object([("claim", .string($0.claim)), ("value", .string($0.value))]) })
            ),
            ("match", patterns(policy.match)),
            ("deny", patterns(policy.deny)),
            (
                "grant",
                .array(
                    policy.grant.map {
                        .object([
                            ("namespace", .string($0.namespace)),
                            ("repositories", .array($0.repositories.map(JSONValue.string))),
                            ("actions", .array($0.actions.map { .string($0.rawValue) })),
                        ])
                    })
            ),
            ("session_seconds", .integer(policy.session.components.seconds)),
            ("jti", .string(policy.jti.rawValue)),
            ("allow_mutable_claims", .bool(policy.allowMutableClaims)),
            ("pins_immutable_claim", .bool(entry.pinsImmutableClaim)),
            ("defined_at", .string(policy.definedAt)),
        ])
    }

    static func json(_ decision: WorkloadDecisionRecord) -> JSONValue {
        .object([
            ("id", .integer(decision.id.rawValue)),
            ("time", JSONValue.timestamp(decision.time)),
            ("kind", JSONValue.optional(decision.kind?.rawValue)),
            ("outcome", .string(decision.outcome.rawValue)),
            ("policy", JSONValue.optional(decision.policy)),
            ("issuer", JSONValue.optional(decision.issuer)),
            ("failed", JSONValue.optional(decision.failed)),
            (
                "claims",
                .array(decision.claims.map { .object([("name", .string($0.name)), ("value", .string($0.value))]) })
            ),
            ("client_ip", JSONValue.optional(decision.clientIP)),
            ("count", .integer(Int64(decision.count))),
        ])
    }
}
