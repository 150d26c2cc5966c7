import Foundation

/// A refresh token issued to a CI workload login (`offline_token=true`): bound to the trust policy and the
/// job token's `jti`, never to a user. Only the SHA-256 of its secret is stored.
public struct WorkloadRefreshToken: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored workload refresh token.
    public typealias ID = RecordID<WorkloadRefreshToken>

    /// The database identifier.
    public var id: ID
    /// The lowercase hex SHA-256 of the secret.
    public var secretHash: String
    /// The trust policy it was issued under (re-read at every refresh).
    public var policy: String
    /// The issuer name of the job token.
    public var issuer: String
    /// The job token's `jti`, if it had one.
    public var jti: String?
    /// The registry service it is bound to.
    public var service: String
    /// The job token's scalar claims as a JSON object, so every refresh re-evaluates the current policy.
    public var claims: String
    /// When it was issued.
    public var createdAt: Date
    /// When it stops working (issue time plus the policy's session).
    public var expiresAt: Date
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    /// Creates a value (normally only a store does this).
    public init(
        id: ID, secretHash: String, policy: String, issuer: String, jti: String?, service: String, claims: String,
        createdAt: Date, expiresAt: Date, revokedAt: Date? = nil
    ) {
        self.id = id
        self.secretHash = secretHash
        self.policy = policy
        self.issuer = issuer
        self.jti = jti
        self.service = service
        self.claims = claims
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// A log-safe summary: never the hash or the claims.
    public var description: String { "WorkloadRefreshToken(\(id), policy \(policy))" }
}

/// Workload identity in `StoreReading` (migration 18).
public protocol WorkloadIdentityReading {
    /// The workload refresh token stored under this secret hash, if any (revoked and expired ones included).
    func workloadRefreshToken(secretHash: String) throws -> WorkloadRefreshToken?
}

/// Workload identity in `StoreWriting` (migration 18).
public protocol WorkloadIdentityWriting: WorkloadIdentityReading {
    /// Notes at `date` that `jti` of `issuer` logged in, remembered until `expiresAt`; false when a record
    /// of it lives on (a replay). The insert is one statement, so two instances racing on one `jti` cannot
    /// both succeed.
    func recordWorkloadTokenUse(issuer: String, jti: String, expiresAt: Date, at date: Date) throws -> Bool
    /// Stores a new workload refresh token (its `id` is ignored) and returns its id.
    func createWorkloadRefreshToken(_ token: WorkloadRefreshToken) throws -> WorkloadRefreshToken.ID
    /// Revokes every live workload refresh token of a policy; returns how many.
    func revokeWorkloadRefreshTokens(ofPolicy policy: String, at date: Date) throws -> Int
    /// Deletes `jti` records and refresh tokens that expired before `date`; returns how many rows went.
    func pruneWorkloadIdentity(expiredBefore date: Date) throws -> Int
}
