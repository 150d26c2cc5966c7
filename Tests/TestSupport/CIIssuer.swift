import CryptoCore
import Foundation
import JOSE
import Synchronization

/// A CI system's OIDC issuer for the workload identity tests: a ``HostileIssuer`` on 127.0.0.1 publishing one
/// RSA key (`ci-rsa`, RS256) and one P-256 key (`ci-ec`, ES256) in its JWKS, with claim sets shaped like a
/// GitHub Actions or GitLab CI job's ID token (``CIClaims``) and the forgeries a test needs: unsigned, HS256,
/// signed by a key the JWKS does not list.
///
/// Keys are generated at start (their randomness changes no outcome); `jti`s are numbered, so runs are alike.
public final class CIIssuer: Sendable {
    /// The issuer underneath (its fetch counters, ``HostileIssuer/update(_:)`` for rotations).
    public let server: HostileIssuer
    /// The RS256 key the JWKS lists.
    public let rsaKey: HostileIssuer.SigningKey
    /// The ES256 key the JWKS lists.
    public let ecKey: HostileIssuer.SigningKey
    /// A key the JWKS never lists (`kid` `ci-unknown`): tokens it signs carry an unknown `kid`.
    public let unpublishedKey: HostileIssuer.SigningKey
    private let serial = Atomic<Int>(0)

    /// The issuer URL, `http://127.0.0.1:<port>` (what `workloadIdentity.issuers[].issuer` names).
    public var issuer: String { server.issuer }

    /// Starts the issuer on a port of the kernel's choosing.
    public init() throws {
        rsaKey = HostileIssuer.SigningKey(
            keyID: "ci-rsa", key: try PrivateKey.generate(.rsa(bits: 2048)), algorithm: "RS256")
        ecKey = HostileIssuer.SigningKey(keyID: "ci-ec", key: try PrivateKey.generate(.ecP256), algorithm: "ES256")
        unpublishedKey = HostileIssuer.SigningKey(keyID: "ci-unknown", key: try PrivateKey.generate(.ecP256))
        server = try HostileIssuer(keys: [rsaKey, ecKey])
    }

    /// Stops the server.
    public func stop() async { await server.stop() }

    /// A new `jti` (`ci-jti-1`, `ci-jti-2`, …).
    public func nextJTI() -> String { "ci-jti-\(serial.add(1, ordering: .relaxed).newValue)" }

    /// GitHub Actions' claims for a job of `acme/api` (owner id 123456, repository id 456789) on `main`, run by
    /// the `release.yml` workflow for a `push`, issued at `now` for `lifetime` seconds (GitHub's tokens live
    /// about 5 minutes; ids arrive as numeric strings).
    public func github(audience: String, now: Date = Date(), lifetime: TimeInterval = 300) -> CIClaims {
        CIClaims.github(issuer: issuer, audience: audience, jti: nextJTI(), now: now, lifetime: lifetime)
    }

    /// GitLab CI's claims for a pipeline of `acme/api` (namespace id 22, project id 4711) on `main`.
    public func gitlab(audience: String, now: Date = Date(), lifetime: TimeInterval = 300) -> CIClaims {
        CIClaims.gitlab(issuer: issuer, audience: audience, jti: nextJTI(), now: now, lifetime: lifetime)
    }

    /// `claims` signed with RS256 (the `ci-rsa` key) or ES256 (the `ci-ec` key).
    public func sign(_ claims: CIClaims, algorithm: SigningAlgorithm = .rs256) -> String {
        HostileIssuer.sign(claims.values, with: algorithm == .es256 ? ecKey : rsaKey, algorithm: algorithm)
    }

    /// `claims` signed with ES256 by a key the JWKS does not list (`kid` `ci-unknown`).
    public func signWithUnknownKey(_ claims: CIClaims) -> String {
        HostileIssuer.sign(claims.values, with: unpublishedKey, algorithm: .es256)
    }

    /// `claims` under `{"alg":"none"}` with an empty signature.
    public func unsigned(_ claims: CIClaims) -> String { HostileIssuer.unsigned(claims.values) }

    /// `claims` under HS256 keyed with `secret` and the RSA key's `kid` (the algorithm-confusion forgery).
    public func hs256(_ claims: CIClaims, secret: String) -> String {
        HostileIssuer.hs256(claims.values, secret: secret, keyID: rsaKey.keyID)
    }
}

/// The claims of a CI job's ID token, built from a GitHub- or GitLab-shaped default and changed with the
/// builders below (each returns a changed copy). Values are JSON values: strings, as both CI systems send their
/// ids and flags, plus the integer times and GitLab's integer `runner_id`.
public struct CIClaims: Sendable {
    /// Which CI system the claims imitate (the builders move the claims each one carries).
    public enum Shape: Sendable { case github, gitlab }

    /// The shape.
    public let shape: Shape
    /// The claims, as signed.
    public private(set) var values: [String: any Sendable]

    /// GitHub Actions' token for `acme/api` (docs.github.com: security hardening with OpenID Connect).
    public static func github(
        issuer: String, audience: String, jti: String, now: Date, lifetime: TimeInterval,
        owner: String = "acme", ownerID: String = "123456", repository: String = "api", repositoryID: String = "456789"
    ) -> CIClaims {
        let iat = Int(now.timeIntervalSince1970)
        let ref = "refs/heads/main"
        let workflow = "\(owner)/\(repository)/.github/workflows/release.yml@\(ref)"
        return CIClaims(
            shape: .github,
            values: [
                "iss": issuer, "aud": audience, "iat": iat, "nbf": iat - 5, "exp": iat + Int(lifetime), "jti": jti,
                "sub": "repo:\(owner)/\(repository):ref:\(ref)", "ref": ref, "ref_type": "branch",
                "ref_protected": "true", "sha": "8e2b1b1cbbd4d8b8c54d7c5d5a7cb0a9c1c3e2f4",
                "repository": "\(owner)/\(repository)", "repository_id": repositoryID, "repository_owner": owner,
                "repository_owner_id": ownerID, "repository_visibility": "private", "run_id": "9876543210",
                "run_number": "42", "run_attempt": "1", "actor": "octocat", "actor_id": "583231",
                "workflow": "release", "workflow_ref": workflow,
                "workflow_sha": "8e2b1b1cbbd4d8b8c54d7c5d5a7cb0a9c1c3e2f4",
                "job_workflow_ref": workflow, "job_workflow_sha": "8e2b1b1cbbd4d8b8c54d7c5d5a7cb0a9c1c3e2f4",
                "event_name": "push", "head_ref": "", "base_ref": "", "runner_environment": "github-hosted",
            ])
    }

    /// GitLab CI's `id_tokens` token for `acme/api` (ids and booleans as strings, a bare `ref` beside
    /// `ref_path`, `runner_id` a number), as in pypi/warehouse's GitLab model and GitLab's documentation.
    public static func gitlab(
        issuer: String, audience: String, jti: String, now: Date, lifetime: TimeInterval,
        namespace: String = "acme", namespaceID: String = "22", project: String = "api", projectID: String = "4711"
    ) -> CIClaims {
        let iat = Int(now.timeIntervalSince1970)
        let host = URL(string: issuer)?.host ?? "gitlab.example.com"
        return CIClaims(
            shape: .gitlab,
            values: [
                "iss": issuer, "aud": audience, "iat": iat, "nbf": iat - 5, "exp": iat + Int(lifetime), "jti": jti,
                "sub": "project_path:\(namespace)/\(project):ref_type:branch:ref:main", "namespace_id": namespaceID,
                "namespace_path": namespace, "project_id": projectID, "project_path": "\(namespace)/\(project)",
                "user_id": "42", "user_login": "maintainer", "user_email": "maintainer@example.com",
                "user_access_level": "maintainer", "pipeline_id": "574", "pipeline_source": "push", "job_id": "302",
                "ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
                "runner_id": 1, "runner_environment": "gitlab-hosted",
                "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "private",
                "ci_config_ref_uri": "\(host)/\(namespace)/\(project)//.gitlab-ci.yml@refs/heads/main",
                "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            ])
    }

    /// The claim `name`'s value, if present.
    public subscript(name: String) -> (any Sendable)? { values[name] }

    /// The claims with `name` set to `value` (any JSON value: a string, an integer, a boolean, an array).
    public func with(_ name: String, _ value: any Sendable) -> CIClaims {
        var copy = self
        copy.values[name] = value
        return copy
    }

    /// The claims without `name`.
    public func without(_ name: String) -> CIClaims {
        var copy = self
        copy.values[name] = nil
        return copy
    }

    /// A job on branch `branch`: GitHub's `ref` and workflow refs become `refs/heads/<branch>`; GitLab's `ref`
    /// is the bare name beside `ref_path`, and the `sub` and config URI follow.
    public func onBranch(_ branch: String) -> CIClaims { onRef(type: "branch", name: branch) }

    /// A job for tag `tag` (`refs/tags/<tag>`).
    public func onTag(_ tag: String) -> CIClaims { onRef(type: "tag", name: tag) }

    private func onRef(type: String, name: String) -> CIClaims {
        let path = (type == "tag" ? "refs/tags/" : "refs/heads/") + name
        var copy = self
        switch shape {
        case .github:
            let repository = values["repository"] as? String ?? "acme/api"
            let workflow = "\(repository)/.github/workflows/release.yml@\(path)"
            copy.values["ref"] = path
            copy.values["ref_type"] = type
            copy.values["sub"] = "repo:\(repository):ref:\(path)"
            copy.values["workflow_ref"] = workflow
            copy.values["job_workflow_ref"] = workflow
        case .gitlab:
            let project = values["project_path"] as? String ?? "acme/api"
            copy.values["ref"] = name
            copy.values["ref_type"] = type
            copy.values["ref_path"] = path
            copy.values["sub"] = "project_path:\(project):ref_type:\(type):ref:\(name)"
            if let uri = values["ci_config_ref_uri"] as? String, let at = uri.lastIndex(of: "@") {
                copy.values["ci_config_ref_uri"] = uri[..<at] + "@" + path
            }
        }
        return copy
    }

    /// A job triggered by `event` (GitHub's `event_name`, GitLab's `pipeline_source`).
    public func triggeredBy(_ event: String) -> CIClaims {
        with(shape == .github ? "event_name" : "pipeline_source", event)
    }

    /// The same names under other ids: a repository (GitHub) or project (GitLab) deleted and re-created, whose
    /// tokens carry the old name and a new id.
    public func recreated(id: String) -> CIClaims {
        with(shape == .github ? "repository_id" : "project_id", id)
    }

    /// Issued at `date` for `lifetime` seconds (`iat`, `nbf` five seconds earlier, `exp`).
    public func issued(at date: Date, lifetime: TimeInterval) -> CIClaims {
        let iat = Int(date.timeIntervalSince1970)
        return with("iat", iat).with("nbf", iat - 5).with("exp", iat + Int(lifetime))
    }

    /// The `exp` claim as a date.
    public var expiry: Date { Date(timeIntervalSince1970: TimeInterval(values["exp"] as? Int ?? 0)) }
}
