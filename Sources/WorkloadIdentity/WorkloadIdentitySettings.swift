import Foundation

/// The `workloadIdentity` section: the CI issuers trusted and the trust policies that turn one of their
/// job tokens into registry access (`docker login -u <policy> -p <JWT>`).
///
/// Configuration is the source of truth: the token endpoint, the REST API and the web UI all read these
/// values, and nothing about a policy is stored. The values arrive validated (``WorkloadIdentityRules``
/// are checked at load), so the lookups here never have to judge them again.
public struct WorkloadIdentitySettings: Sendable, Hashable {
    /// The trusted issuers, in file order.
    public var issuers: [WorkloadIssuer] = []
    /// The trust policies, in file order.
    public var policies: [WorkloadPolicy] = []

    /// No issuers and no policies: workload identity is off.
    public init() {}

    /// Settings with these issuers and policies.
    public init(issuers: [WorkloadIssuer], policies: [WorkloadPolicy]) {
        self.issuers = issuers
        self.policies = policies
    }

    /// Whether any policy is configured (without one, no login is ever a workload login).
    public var isEnabled: Bool { !policies.isEmpty }

    /// The issuer named `name`, if configured.
    public func issuer(named name: String) -> WorkloadIssuer? { issuers.first { $0.name == name } }

    /// The policy named `name` (the `docker login` username), if configured.
    public func policy(named name: String) -> WorkloadPolicy? { policies.first { $0.name == name } }

    /// The policies that pin only mutable claims and say so (`allowMutableClaims: true` where the profile
    /// asks for an id): logged at start, because a deleted and re-created repository of the same name
    /// would inherit them.
    public var mutablyPinnedPolicies: [WorkloadPolicy] {
        policies.filter { policy in
            guard policy.allowMutableClaims, let issuer = issuer(named: policy.issuer) else { return false }
            return !issuer.profile.isPinned(policy)
        }
    }
}

/// A CI system that signs job tokens (GitHub Actions, GitLab CI, any OpenID issuer).
public struct WorkloadIssuer: Sendable, Hashable {
    /// The name policies refer to.
    public var name = ""
    /// The issuer URL: `iss` must equal it byte for byte; discovery is at
    /// `<issuer>/.well-known/openid-configuration`.
    public var issuer = ""
    /// Which claims count as immutable pins.
    public var profile = WorkloadProfile.generic
    /// The accepted audiences: `aud` must contain one of them exactly. Never empty once loaded.
    public var audiences: [String] = []
    /// The accepted signature algorithms. Default RS256 and ES256.
    public var algorithms: [WorkloadAlgorithm] = [.rs256, .es256]
    /// A token issued longer ago than this (`now - iat`) is refused, whatever its `exp`. Default 20 min.
    public var maxTokenAge: Duration = .seconds(20 * 60)
    /// The clock skew tolerated for `exp`, `nbf` and `iat`. Default 60 s.
    public var clockSkew: Duration = .seconds(60)
    /// Where the entry was written (`config.d/45-workload-identity.yaml:3`), for pages and messages.
    public var definedAt = ""

    /// An issuer with placeholders (`name`, `issuer` and `audiences` are required in a fragment).
    public init() {}

    /// An issuer with these values.
    public init(
        name: String, issuer: String, profile: WorkloadProfile, audiences: [String],
        algorithms: [WorkloadAlgorithm] = [.rs256, .es256], maxTokenAge: Duration = .seconds(20 * 60),
        clockSkew: Duration = .seconds(60)
    ) {
        self.name = name
        self.issuer = issuer
        self.profile = profile
        self.audiences = audiences
        self.algorithms = algorithms
        self.maxTokenAge = maxTokenAge
        self.clockSkew = clockSkew
    }
}

/// Which claims of an issuer's tokens name a repository or project by an id that never changes.
public enum WorkloadProfile: String, Sendable, Hashable, CaseIterable {
    /// GitHub Actions: `repository_owner_id`, `repository_id`.
    case github
    /// GitLab CI: `namespace_id`, `project_id` (sent as strings).
    case gitlab
    /// Any other issuer: no claim is known to be immutable, so no pin is demanded.
    case generic

    /// The claims of which a policy must `require` at least one (empty: none demanded).
    public var immutableClaims: [String] {
        switch self {
        case .github: ["repository_owner_id", "repository_id"]
        case .gitlab: ["namespace_id", "project_id"]
        case .generic: []
        }
    }

    /// Whether `policy` requires at least one immutable claim (always true for `generic`).
    public func isPinned(_ policy: WorkloadPolicy) -> Bool {
        immutableClaims.isEmpty || policy.require.contains { immutableClaims.contains($0.claim) }
    }
}

/// A signature algorithm a CI issuer may sign with; `none` and HMAC are not among them (an HMAC key is a
/// secret the verifier shares, so anyone holding it could mint tokens).
public enum WorkloadAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (GitHub, GitLab).
    case rs256 = "RS256"
    /// ECDSA P-256 with SHA-256.
    case es256 = "ES256"
    /// RSASSA-PSS with SHA-256.
    case ps256 = "PS256"
}
