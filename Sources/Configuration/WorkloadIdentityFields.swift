import Diagnostics
import Foundation
import WorkloadIdentity

// The `workloadIdentity` section's schema: the core types of `WorkloadIdentity` read from config.d with
// positions, plus the rules that span keys (pins, issuer references, unique names).

extension WorkloadIdentitySettings {
    static let fields: [Field<WorkloadIdentitySettings>] = [
        .records(
            "issuers", \.issuers,
            "CI issuers whose job tokens may be docker login passwords (GitHub Actions, GitLab CI, any OpenID issuer)."),
        .records(
            "policies", \.policies,
            "Trust policies: the docker login username, the claims a job token must carry, and what it is granted."),
    ]
}

extension WorkloadIssuer: SchemaRecord {
    mutating func record(location: SourceLocation, keyPath: String) {
        definedAt = "\(location.file):\(location.line)"
    }

    static let fields: [Field<WorkloadIssuer>] = [
        .value("name", \.name, .identifier, required: true, "Name policies refer to this issuer by."),
        .value(
            "issuer", \.issuer, .issuerURL, required: true,
            "Issuer URL: iss must equal it exactly; discovery at <issuer>/.well-known/openid-configuration (https; http only on loopback)."
        ),
        .value(
            "profile", \.profile, .oneOf(WorkloadProfile.self),
            "github or gitlab make every policy pin an immutable id (repository_owner_id/repository_id, namespace_id/project_id); generic does not."
        ),
        .value(
            "audiences", \.audiences, .list(of: .string), required: true,
            "Accepted aud values (exact); required, so a token minted for another service is refused."),
        .value(
            "algorithms", \.algorithms, .list(of: .workloadAlgorithm),
            "Accepted signature algorithms (RS256, ES256, PS256); none and HS* are refused at load."),
        .value(
            "maxTokenAge", \.maxTokenAge, .duration(.seconds(60)...(.seconds(86_400))),
            "Tokens issued longer ago than this (now - iat) are refused, whatever their exp."),
        .value(
            "clockSkew", \.clockSkew, .duration(.zero...(.seconds(600))),
            "Clock skew tolerated for exp, nbf and iat."),
    ]
}

extension WorkloadPolicy: SchemaRecord {
    mutating func record(location: SourceLocation, keyPath: String) {
        definedAt = "\(location.file):\(location.line)"
    }

    static let fields: [Field<WorkloadPolicy>] = [
        .value(
            "name", \.name, .identifier, required: true,
            "The docker login username; must not be a user's or robot's name."),
        .value("issuer", \.issuer, .identifier, required: true, "The workloadIdentity.issuers[].name it trusts."),
        .value(
            "require", \.require, .claimRequirements,
            "Claim: exact value; all must hold (claims compared as strings; a missing claim never matches)."),
        .value(
            "match", \.match, .claimPatterns,
            "Claim: [globs] (* only); each claim must match one of its globs (GitLab: match ref_path, not ref)."),
        .value("deny", \.deny, .claimPatterns, "Claim: [globs]; a token matching any of them is refused."),
        .records("grant", \.grant, "What an accepted token may do: namespace, repository globs, actions."),
        .value(
            "session", \.session, .duration(.seconds(60)...(.seconds(7 * 86_400))),
            "Lifetime of the refresh token a login with offline_token=true gets (docker login asks for one)."),
        .value(
            "jti", \.jti, .oneOf(WorkloadPolicy.JTIUse.self),
            "reuse lets a token log in until it expires; single-use accepts each jti once (across instances)."),
        .value(
            "allowMutableClaims", \.allowMutableClaims, .boolean,
            "Let a github/gitlab policy pin only names (a re-created repository would inherit it); logged at start."),
    ]
}

extension WorkloadGrant: SchemaRecord {
    static let fields: [Field<WorkloadGrant>] = [
        .value("namespace", \.namespace, .string, required: true, "The namespace, exactly."),
        .value(
            "repositories", \.repositories, .list(of: .string), required: true,
            "Repository name globs within the namespace (* only)."),
        .value("actions", \.actions, .list(of: .oneOf(WorkloadAction.self)), "Actions granted: pull, push, delete."),
    ]
}

extension ValueType where Value == String {
    /// An OpenID issuer URL, kept exactly as written (`iss` is compared byte for byte): https, or http on
    /// a loopback address (127.0.0.0/8, [::1]) for tests, as for the `oidc` provider.
    static let issuerURL = ValueType.scalar("https URL", render: { .string($0) }) { text, _ in
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.query == nil, components.fragment == nil,
            components.user == nil, components.password == nil
        else { return .failure(.invalid("'\(text)' is not an absolute https URL without query or fragment")) }
        let loopback = host.hasPrefix("127.") || host == "[::1]" || host == "::1"
        guard scheme == "https" || (scheme == "http" && loopback) else {
            return .failure(.invalid("'\(text)' must use https (plain http is accepted only on loopback, for tests)"))
        }
        return .success(text)
    }
}

extension ValueType where Value == WorkloadAlgorithm {
    /// RS256, ES256 or PS256; `none` and HMAC algorithms are refused with the reason.
    static let workloadAlgorithm = ValueType.scalar(
        "one of: " + WorkloadAlgorithm.allCases.map(\.rawValue).joined(separator: ", "),
        render: { .string($0.rawValue) }
    ) { text, _ in
        if let algorithm = WorkloadAlgorithm(rawValue: text) { return .success(algorithm) }
        if text.lowercased() == "none" || text.uppercased().hasPrefix("HS") {
            return .failure(
                .invalid(
                    "\(text) is never accepted: an unsigned or HMAC-signed token proves nothing about its issuer; use RS256, ES256 or PS256"
                ))
        }
        return .failure(.invalid("unknown algorithm '\(text)'; expected RS256, ES256 or PS256"))
    }
}

extension ValueType where Value == [ClaimRequirement] {
    /// A mapping of claim names to scalar values, kept in file order.
    static let claimRequirements = ValueType(
        name: "mapping of claim: value",
        decode: { node, path, log in
            claimEntries(node, path, &log) { entry, entryPath, log in
                guard case .scalar(let text, _) = entry.value.kind, !entry.value.isNull else {
                    log.add(
                        .wrongType, at: entry.value.location, entryPath,
                        "expected a string value, got \(entry.value.shapeName)")
                    return nil
                }
                return ClaimRequirement(entry.key, text)
            }
        },
        render: { .map($0.map { ($0.claim, .string($0.value)) }) }
    )
}

extension ValueType where Value == [ClaimPatterns] {
    /// A mapping of claim names to glob lists (one glob may be written without the list), in file order.
    static let claimPatterns = ValueType(
        name: "mapping of claim: [globs]",
        decode: { node, path, log in
            claimEntries(node, path, &log) { entry, entryPath, log in
                if case .scalar(let text, _) = entry.value.kind, !entry.value.isNull {
                    return ClaimPatterns(entry.key, [text])
                }
                guard let globs = ValueType<[String]>.list(of: .string).decode(entry.value, entryPath, &log) else {
                    return nil
                }
                guard !globs.isEmpty else {
                    log.add(.invalidValue, at: entry.value.location, entryPath, "an empty list matches nothing")
                    return nil
                }
                return ClaimPatterns(entry.key, globs)
            }
        },
        render: { .map($0.map { ($0.claim, .list($0.patterns.map { .string($0) })) }) }
    )
}

/// The entries of a claim mapping, each made by `make`; nil when any failed (every problem is logged).
private func claimEntries<Element>(
    _ node: ConfigNode, _ path: String, _ log: inout IssueLog,
    _ make: (ConfigNode.Entry, String, inout IssueLog) -> Element?
) -> [Element]? {
    if node.isNull { return [] }
    guard let entries = node.entries else {
        log.add(.wrongType, at: node.location, path, "expected a mapping of claim names, got \(node.shapeName)")
        return nil
    }
    var elements: [Element] = []
    var failed = false
    for entry in entries {
        let entryPath = join(path, entry.key)
        guard !entry.key.isEmpty else {
            log.add(.invalidValue, at: entry.keyLocation, entryPath, "a claim name cannot be empty")
            failed = true
            continue
        }
        if let element = make(entry, entryPath, &log) { elements.append(element) } else { failed = true }
    }
    return failed ? nil : elements
}

/// Rules of the `workloadIdentity` section that span keys, checked after loading.
enum WorkloadIdentityRules {
    static func check(
        _ settings: WorkloadIdentitySettings, state: inout DecodeState,
        location: (String, DecodeState) -> SourceLocation
    ) {
        for (index, issuer) in settings.issuers.enumerated() where issuer.audiences.isEmpty {
            let path = "workloadIdentity.issuers[\(index)].audiences"
            state.log.add(
                .invalidValue, at: location(path, state), path,
                "issuer '\(issuer.name)' needs at least one audience: without one, a token minted for any other service would do"
            )
        }
        for (index, issuer) in settings.issuers.enumerated() where issuer.algorithms.isEmpty {
            let path = "workloadIdentity.issuers[\(index)].algorithms"
            state.log.add(.invalidValue, at: location(path, state), path, "an empty list accepts no token")
        }
        let known = Set(settings.issuers.map(\.name))
        for (index, policy) in settings.policies.enumerated() {
            let path = "workloadIdentity.policies[\(index)]"
            guard let issuer = settings.issuer(named: policy.issuer) else {
                if !policy.issuer.isEmpty {
                    state.log.add(
                        .invalidValue, at: location(path + ".issuer", state), path + ".issuer",
                        "policy '\(policy.name)' names issuer '\(policy.issuer)', which workloadIdentity.issuers does not define"
                            + Suggestion.hint(for: policy.issuer, in: known.sorted()))
                }
                continue
            }
            if !issuer.profile.isPinned(policy) && !policy.allowMutableClaims {
                let ids = issuer.profile.immutableClaims.joined(separator: " or ")
                let policyLocation = location(path, state)
                state.log.add(
                    .invalidValue, at: policyLocation, path + ".require",
                    "policy '\(policy.name)' (\(policyLocation.file):\(policyLocation.line)) pins only mutable claims: "
                        + "issuer '\(issuer.name)' has profile \(issuer.profile.rawValue), so require must name \(ids) "
                        + "(a deleted and re-created repository of the same name would inherit the policy); "
                        + "set allowMutableClaims: true to accept that")
            }
            if policy.grant.isEmpty && state.locations[path + ".grant"] == nil {
                state.log.add(
                    .missingKey, at: location(path, state), path + ".grant",
                    "missing required key 'grant' (policy '\(policy.name)' would grant nothing)")
            }
        }
    }
}
