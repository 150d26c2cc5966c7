import Configuration
import Diagnostics
import Foundation
import OAuth2
import Storage
import TokenAuthority
import WorkloadIdentity

/// Builds CI workload identity from `workloadIdentity`: the login service the token endpoint asks, with one
/// HTTP client pool per issuer, and the start-time rule that no policy bears a user's name.
enum WorkloadIdentityAssembly {
    /// The login service; logs at start every policy that pins only mutable claims by its own choice
    /// (`allowMutableClaims: true`). Built without policies too: a workload refresh token issued before the last
    /// policy was removed must still be refused as `workload.refresh` with `policy.unknown` and audited, and its
    /// records pruned; logins are workload logins only while a policy is configured.
    static func logins(
        _ configuration: PortcullisConfiguration, store: any Store, logger: Logger
    ) -> WorkloadLogins {
        let settings = configuration.workloadIdentity
        for policy in settings.mutablyPinnedPolicies {
            logger.warning(
                "trust policy pins only mutable claims (allowMutableClaims: true): a deleted and re-created "
                    + "repository of the same name would inherit it",
                ["policy": policy.name, "issuer": policy.issuer, "defined_at": policy.definedAt])
        }
        if settings.isEnabled {
            logger.info(
                "CI workload identity enabled",
                ["issuers": String(settings.issuers.count), "policies": String(settings.policies.count)])
        }
        return WorkloadLogins(
            settings: settings, store: store,
            http: { issuer in ProviderHTTPClients.Fetcher(providerID: "workload-" + issuer) })
    }

    /// The job `serve` runs hourly: deletes single-use `jti` records and workload refresh tokens that expired.
    static func pruneJob(_ logins: WorkloadLogins, logger: Logger) -> BackgroundJob {
        BackgroundJob(name: "workload-identity-prune", interval: .seconds(3600), logger: logger.named("jobs")) {
            let pruned = try await logins.prune()
            if pruned > 0 {
                logger.info("expired workload jti records and refresh tokens pruned", ["count": String(pruned)])
            }
        }
    }

    /// The usernames accounts may not take: every trust policy's name, lowercased (usernames are unique
    /// regardless of case), with the policy and where it is defined.
    static func reservedUsernames(_ configuration: PortcullisConfiguration) -> [String: String] {
        Dictionary(
            configuration.workloadIdentity.policies.map {
                ($0.name.lowercased(), "CI trust policy '\($0.name)' (\($0.definedAt))")
            }, uniquingKeysWith: { first, _ in first })
    }

    /// The policies whose names are users' names, as problems naming the policy and its `file:line`: the
    /// username of a `docker login` must say whose login it is.
    static func nameClashes(
        _ settings: WorkloadIdentitySettings, reader: any StoreReading
    ) throws -> [String] {
        var problems: [String] = []
        for policy in settings.policies {
            guard let user = try reader.user(named: policy.name) else { continue }
            problems.append(
                "\(policy.definedAt): workloadIdentity policy '\(policy.name)' has the name of user '\(user.username)'; "
                    + "rename the policy (its name is the docker login username)")
        }
        return problems
    }

    /// ``nameClashes(_:reader:)`` over `store`, as a configuration failure when there is any.
    static func refuseNameClashes(
        _ configuration: PortcullisConfiguration, store: any Store
    ) async throws(CommandFailure) {
        let settings = configuration.workloadIdentity
        guard settings.isEnabled else { return }
        let problems: [String]
        do {
            problems = try await store.read { try nameClashes(settings, reader: $0) }
        } catch {
            throw CommandFailure(.unavailable, "cannot check trust policy names against users: \(error)")
        }
        guard problems.isEmpty else {
            throw CommandFailure(.configuration, "invalid configuration:\n" + problems.joined(separator: "\n"))
        }
    }

    /// For `config check`: the clash rule against the configured SQLite database when it exists (a check
    /// never creates one).
    static func checkNameClashes(_ context: AppContext) async throws(CommandFailure) {
        let configuration = context.configuration
        guard configuration.workloadIdentity.isEnabled, configuration.storage.driver == .sqlite,
            FileManager.default.fileExists(atPath: configuration.storage.sqlite.path)
        else { return }
        let store = try await context.openStore(migrate: false)
        do {
            try await refuseNameClashes(configuration, store: store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
