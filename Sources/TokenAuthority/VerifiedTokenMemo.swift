import CryptoCore
import Foundation
import JOSE
import OAuth2
import Threading
import WorkloadIdentity

/// CI job tokens whose signatures were checked, by the SHA-256 of their exact text, so that the same token
/// presented again skips parsing and the signature check (as Envoy's JWT filter caches verified tokens).
///
/// `docker` and `skopeo` send the job token with every token request, one per repository and scope and again
/// when a token expires, so one CI job presents the same JWT many times. What a remembered token skips is only
/// work whose result cannot differ: the same bytes under the same keys verify the same way. Everything that
/// can change is checked again at every use: the issuer's current keys must be the very keys that verified it
/// (a JWKS refetch, which rotates or removes a key, makes every entry of that issuer unusable), its algorithm
/// must still be allowed, its dates are checked at the current time, and `iss`, `aud`, token age, the policy
/// and single use follow in ``WorkloadLogins`` as for a first use.
///
/// Bounded (a flood of distinct tokens evicts, never grows it), in memory only (losing it costs only speed),
/// and keyed by digest, so no job token is kept.
struct VerifiedTokenMemo: Sendable {
    /// What a token's first successful verification established.
    struct Entry: Sendable {
        /// The configured issuer whose keys verified it.
        var issuer: String
        /// The verified token.
        var jwt: VerifiedJWT
        /// The issuer's keys that were candidates for it then, in order (compared by identity).
        var keys: [PublicKey]
    }

    private let entries: BoundedCache<[UInt8], Entry>

    /// A memo of at most `capacity` tokens.
    init(capacity: Int = 4096) {
        entries = BoundedCache(capacity: capacity)
    }

    /// The key under which `compact` is remembered.
    static func key(_ compact: String) -> [UInt8] { Digest.sha256(compact) }

    /// The remembered verification of the token with `key` by `issuer`, if any; the caller checks that its
    /// keys are still current (``sameKeys(_:as:)``).
    func entry(for key: [UInt8], issuer: String) -> Entry? {
        guard let entry = entries.value(for: key), entry.issuer == issuer else { return nil }
        return entry
    }

    /// Whether `current` are the very keys `entry` was verified among.
    static func sameKeys(_ current: [PublicKey], as entry: Entry) -> Bool {
        current.count == entry.keys.count && zip(current, entry.keys).allSatisfy { $0 === $1 }
    }

    /// Remembers a successful verification.
    func remember(_ entry: Entry, for key: [UInt8]) {
        entries.insert(entry, for: key)
    }
}
