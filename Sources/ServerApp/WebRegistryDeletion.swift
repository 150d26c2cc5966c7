import Administration
import Authorization
import Configuration
import Diagnostics
import Foundation
import RegistryCore
import RegistryIntegration
import Storage
import WebUI

/// The web UI's deletions (`WebRepositoryDeleting`): through `RepositoryDeletion` like the REST API's
/// `RegistryDeletionBridge`, so the registry is asked first, the database changes only when it accepted, the
/// token policy decides (`delete` on the repository) and every attempt is audited with the signed-in user.
struct WebRegistryDeletion: WebRepositoryDeleting {
    let deletions: RegistryDeletions

    /// The port for `serve`, nil when no registry client is configured (the pages then answer 503).
    static func make(
        configuration: PortcullisConfiguration, clients: [String: any RegistryAPI], store: any Store, logger: Logger
    ) -> WebRegistryDeletion? {
        guard !clients.isEmpty else { return nil }
        return WebRegistryDeletion(
            deletions: RegistryDeletions(
                wiring: RegistryWiring(configuration: configuration, clients: clients, logger: logger), store: store))
    }

    func deleteTags(_ tags: [String], in repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
    {
        let (deletion, principal) = try prepare(registry: registry, caller: caller)
        var outcome = WebDeletionOutcome(removedTags: [], digests: [], repositoryRemoved: false)
        // One registry DELETE per digest: a tag that went with an earlier one (same digest) is already gone.
        for tag in tags where !outcome.removedTags.contains(tag) {
            do {
                let result = try await deletion.deleteTag(tag, in: repository, as: principal)
                outcome.removedTags = Array(Set(outcome.removedTags + result.removedTags)).sorted()
                outcome.digests += result.digests
                outcome.repositoryRemoved = outcome.repositoryRemoved || result.repositoryRemoved
            } catch let error as DeletionError {
                throw Self.failure(error, completed: outcome.removedTags.isEmpty ? nil : outcome)
            }
        }
        return outcome
    }

    func deleteRepository(_ repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
    {
        let (deletion, principal) = try prepare(registry: registry, caller: caller)
        do {
            let result = try await deletion.deleteRepository(repository, as: principal)
            return WebDeletionOutcome(
                removedTags: result.removedTags, digests: result.digests, repositoryRemoved: result.repositoryRemoved)
        } catch let error as DeletionError {
            throw Self.failure(error, completed: nil)
        }
    }

    private func prepare(registry: String, caller: Caller) throws -> (RepositoryDeletion, Principal) {
        guard let userID = caller.userID, let username = caller.name else {
            throw WebDeletionFailure(.denied, "Sign in to delete.")
        }
        guard let deletion = deletions.deletion(forRegistry: registry) else {
            throw WebDeletionFailure(
                .unavailable,
                "The registry holding this repository (\(registry)) is not configured here, so nothing can be "
                    + "deleted. Ask an administrator to configure it under registries:.")
        }
        // A browser session acts with the user's full rights, as a password login at /v2/token would.
        return (deletion, Principal(userID: userID.rawValue, username: username, isAdmin: caller.isAdmin))
    }

    /// 403 for the policy, 503 when the registry is away, 404 when it no longer holds it, 422 otherwise.
    static func failure(_ error: DeletionError, completed: WebDeletionOutcome?) -> WebDeletionFailure {
        let message = ContentMessages.sentence(error.message)
        switch error.code {
        case .denied, .unknownActor: return WebDeletionFailure(.denied, message, completed: completed)
        case .notAtRegistry: return WebDeletionFailure(.notFound, message, completed: completed)
        case .invalidName, .partial: return WebDeletionFailure(.refused, message, completed: completed)
        case .registryRefused:
            let registryCode = error.registryError?.code
            let code: WebDeletionFailure.Code =
                registryCode == .unreachable || registryCode == .timeout ? .unavailable : .refused
            return WebDeletionFailure(code, message, completed: completed)
        }
    }
}
