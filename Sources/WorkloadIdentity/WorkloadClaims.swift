import Foundation
import JSONScanning

/// The claims of a verified CI token as policies see them: each scalar claim as a string.
///
/// A string claim is itself; a number or boolean claim is its JSON text (`456789`, `true`), so a policy
/// written `repository_id: "456789"` matches GitHub's number and GitLab's string alike. Arrays, objects and
/// `null` are left out: a policy can only name scalars, and a missing claim never matches.
public struct WorkloadClaims: Sendable, Hashable {
    /// Claim name → string form.
    public private(set) var values: [String: String]

    /// Claims from name → string form.
    public init(_ values: [String: String]) { self.values = values }

    /// The claims of a JWT payload; nil when it is not exactly one JSON object with unique member names
    /// (`JSONObjectScanner`).
    public init?(payload: [UInt8]) {
        guard let members = JSONObjectScanner.members(of: payload) else { return nil }
        self.init(members: members)
    }

    /// The scalar claims among a payload's scanned members (a verified JWT's `members`, scanned once).
    public init(members: [String: JSONMember]) {
        var values: [String: String] = [:]
        values.reserveCapacity(members.count)
        for (name, member) in members {
            if let text = member.scalarText { values[name] = text }
        }
        self.values = values
    }

    /// The string form of `claim`, if the token carries it as a scalar.
    public subscript(claim: String) -> String? { values[claim] }

    /// The claims that decide and identify a workload login, for its audit entry (those present): the
    /// repository or project and their ids, the ref, the workflow, the event and run, and the `jti`.
    public static let audited = [
        "repository", "repository_id", "repository_owner_id", "project_path", "project_id", "namespace_id", "ref",
        "ref_path", "job_workflow_ref", "event_name", "run_id", "pipeline_id", "jti",
    ]

    /// The ``audited`` claims present, in that order, each cut to 256 characters.
    public var auditedValues: [(String, String)] {
        Self.audited.compactMap { name in values[name].map { (name, String($0.prefix(256))) } }
    }
}
