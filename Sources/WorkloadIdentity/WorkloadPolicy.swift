import Foundation

/// A trust policy: which CI jobs of one issuer may log in under its name, and what they may then do.
///
/// ```yaml
/// - name: ci-acme-api
///   issuer: github
///   require: {repository_owner_id: "123456", repository_id: "456789"}
///   match: {ref: ["refs/heads/main", "refs/tags/v*"]}
///   deny: {event_name: [pull_request_target]}
///   grant: [{namespace: acme, repositories: ["api", "api-*"], actions: [pull, push]}]
/// ```
///
/// ``evaluate(_:)`` decides a token's verified claims against it: every `require` holds (exact string
/// equality), every `match` claim matches one of its globs, no `deny` glob matches. Claims are compared as
/// strings, a missing claim never matches, and `sub` is never parsed (its format is the issuer's to change).
public struct WorkloadPolicy: Sendable, Hashable {
    /// The name: the `docker login` username. Never a user's or robot's name.
    public var name = ""
    /// The ``WorkloadIssuer/name`` whose tokens this policy accepts.
    public var issuer = ""
    /// Exact values every token must carry, in file order.
    public var require: [ClaimRequirement] = []
    /// Glob lists every token must match (one glob per claim suffices), in file order.
    public var match: [ClaimPatterns] = []
    /// Glob lists of which any match refuses the token, in file order.
    public var deny: [ClaimPatterns] = []
    /// What a token accepted by this policy may do.
    public var grant: [WorkloadGrant] = []
    /// How long the refresh token of a login with `offline_token=true` lasts. Default 1 h.
    public var session: Duration = .seconds(3600)
    /// Whether a token's `jti` may log in again (`reuse`, default) or only once (`single-use`).
    public var jti = JTIUse.reuse
    /// Whether the policy may pin only mutable claims (names) where its issuer's profile asks for an id.
    public var allowMutableClaims = false
    /// Where the entry was written (`config.d/45-workload-identity.yaml:12`), for pages and messages.
    public var definedAt = ""

    /// How often one token's `jti` may be used.
    public enum JTIUse: String, Sendable, Hashable, CaseIterable {
        /// Any number of logins until the token expires (a CI job may run `docker login` twice).
        case reuse
        /// One login per `jti`, remembered in the store so every instance sees it.
        case singleUse = "single-use"
    }

    /// A policy with placeholders (`name`, `issuer` and `grant` are required in a fragment).
    public init() {}

    /// A policy with these values.
    public init(
        name: String, issuer: String, require: [ClaimRequirement] = [], match: [ClaimPatterns] = [],
        deny: [ClaimPatterns] = [], grant: [WorkloadGrant], session: Duration = .seconds(3600),
        jti: JTIUse = .reuse, allowMutableClaims: Bool = false
    ) {
        self.name = name
        self.issuer = issuer
        self.require = require
        self.match = match
        self.deny = deny
        self.grant = grant
        self.session = session
        self.jti = jti
        self.allowMutableClaims = allowMutableClaims
    }

    /// The decision on a token's verified claims: allowed, or refused naming the first condition that
    /// failed (`require.repository_id`, `match.ref`, `deny.event_name`), checked in that order and in file
    /// order within each list.
    public func evaluate(_ claims: WorkloadClaims) -> WorkloadDecision {
        for requirement in require {
            // Byte for byte: String's == would let a differently normalized spelling pass as "exact".
            guard let value = claims[requirement.claim], value.utf8.elementsEqual(requirement.value.utf8) else {
                return .refused(.require(requirement.claim))
            }
        }
        for patterns in match {
            guard let value = claims[patterns.claim], patterns.matches(value) else {
                return .refused(.match(patterns.claim))
            }
        }
        for patterns in deny {
            if let value = claims[patterns.claim], patterns.matches(value) { return .refused(.deny(patterns.claim)) }
        }
        return .allowed
    }

    /// The actions this policy grants on repository `name` (`namespace/repository`) out of `requested`; empty
    /// when no grant covers it. Global (one-component) names are never granted: a grant names a namespace.
    public func grantedActions(onRepository name: String, requested: Set<String>) -> Set<String> {
        guard let slash = name.firstIndex(of: "/") else { return [] }
        let namespace = String(name[..<slash])
        let repository = String(name[name.index(after: slash)...])
        var granted: Set<String> = []
        for entry in grant where entry.namespace == namespace {
            guard entry.repositories.contains(where: { Glob.matches($0, repository) }) else { continue }
            granted.formUnion(entry.actions.map(\.rawValue))
        }
        return granted.intersection(requested)
    }
}

/// `claim: value` of a policy's `require`: the claim's string form must equal the value exactly.
public struct ClaimRequirement: Sendable, Hashable {
    /// The claim name.
    public var claim: String
    /// The value it must have.
    public var value: String

    /// A requirement.
    public init(_ claim: String, _ value: String) {
        self.claim = claim
        self.value = value
    }
}

/// `claim: [glob, …]` of a policy's `match` or `deny`: globs where `*` stands for any run of characters
/// (`/` included) and every other character for itself.
public struct ClaimPatterns: Sendable, Hashable {
    /// The claim name.
    public var claim: String
    /// The globs; one matching suffices.
    public var patterns: [String]

    /// Patterns for one claim.
    public init(_ claim: String, _ patterns: [String]) {
        self.claim = claim
        self.patterns = patterns
    }

    /// Whether one of the globs matches `value` whole.
    public func matches(_ value: String) -> Bool { patterns.contains { Glob.matches($0, value) } }
}

/// One `grant` entry: actions on repositories of one namespace.
public struct WorkloadGrant: Sendable, Hashable {
    /// The namespace, exactly.
    public var namespace = ""
    /// Repository name globs within the namespace (`api`, `api-*`, `*`).
    public var repositories: [String] = []
    /// The actions granted. Default pull.
    public var actions: [WorkloadAction] = [.pull]

    /// An entry with placeholders (`namespace` and `repositories` are required in a fragment).
    public init() {}

    /// A grant entry.
    public init(namespace: String, repositories: [String], actions: [WorkloadAction]) {
        self.namespace = namespace
        self.repositories = repositories
        self.actions = actions
    }
}

/// A registry action a policy may grant (`*` is not among them: a policy names what it allows).
public enum WorkloadAction: String, Sendable, Hashable, CaseIterable {
    /// Read manifests and blobs.
    case pull
    /// Upload (the registry also wants pull).
    case push
    /// Delete manifests and tags.
    case delete
}

/// The outcome of ``WorkloadPolicy/evaluate(_:)``.
public enum WorkloadDecision: Sendable, Hashable {
    /// Every condition holds.
    case allowed
    /// The first condition that failed.
    case refused(WorkloadRefusal)

    /// The refusal, or nil when allowed.
    public var refusal: WorkloadRefusal? {
        if case .refused(let refusal) = self { return refusal }
        return nil
    }
}

/// Why a workload login or refresh was refused: the `failed` member of its audit entry.
public enum WorkloadRefusal: Sendable, Hashable, CustomStringConvertible {
    /// A `require` claim is missing or differs.
    case require(String)
    /// A `match` claim is missing or matches none of its globs.
    case match(String)
    /// A `deny` glob matched.
    case deny(String)
    /// The token is not a well-formed compact JWS.
    case tokenMalformed
    /// `iss` is not the policy's issuer.
    case tokenIssuer
    /// `aud` holds none of the issuer's audiences.
    case tokenAudience
    /// `exp` has passed (or is missing).
    case tokenExpired
    /// `nbf` or `iat` lies in the future.
    case tokenNotYetValid
    /// `iat` is older than the issuer's `maxTokenAge` (or missing).
    case tokenTooOld
    /// `alg` is not in the issuer's allow-list (`none` and `HS*` never are).
    case tokenAlgorithm
    /// No published key verifies the signature.
    case tokenSignature
    /// The `kid` is not in the issuer's key set, even after the allowed refetch.
    case tokenUnknownKey
    /// A `single-use` policy saw this `jti` before (or the token has none).
    case tokenJTIReplayed
    /// No policy has the name (only refreshes and the REST API's dry runs see this: a login under an
    /// unknown name takes the normal password path).
    case policyUnknown

    /// The audit spelling: `require.<claim>`, `match.<claim>`, `deny.<claim>`, `token.audience`, ….
    public var failed: String {
        switch self {
        case .require(let claim): "require." + claim
        case .match(let claim): "match." + claim
        case .deny(let claim): "deny." + claim
        case .tokenMalformed: "token.malformed"
        case .tokenIssuer: "token.issuer"
        case .tokenAudience: "token.audience"
        case .tokenExpired: "token.expired"
        case .tokenNotYetValid: "token.not_yet_valid"
        case .tokenTooOld: "token.too_old"
        case .tokenAlgorithm: "token.algorithm"
        case .tokenSignature: "token.signature"
        case .tokenUnknownKey: "token.unknown_key"
        case .tokenJTIReplayed: "token.jti_replayed"
        case .policyUnknown: "policy.unknown"
        }
    }

    /// ``failed``.
    public var description: String { failed }
}

/// Globs with `*` as the only wildcard, matched against the whole text.
public enum Glob {
    /// Whether `pattern` matches all of `text` (`*` any run of characters, everything else itself).
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars), text = Array(text.unicodeScalars)
        // Iterative matching with one backtrack point: linear in practice, never exponential.
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] != "*", pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
