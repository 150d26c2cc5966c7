import Administration
import Authorization
import Configuration
import Diagnostics
import Foundation
import HTTPCore
import RESTAPI
import RegistryCore
import RegistryIntegration
import Storage

/// The content resources of `/api/v1` (namespaces, repositories, tags, stars, search, explore) over the
/// application services, with deletions going through the registry (`RepositoryDeletion`).
enum RESTAPIContent {
    /// The routes, with deletions reaching the registries of `clients` (none: deletes answer 503).
    static func routes(
        configuration: PortcullisConfiguration, store: any Store, clients: [String: any RegistryAPI], logger: Logger
    ) -> [APIRoute] {
        let settings = configuration.policy.resourcePolicy
        let deleter: (any APIRepositoryDeleting)? =
            clients.isEmpty
            ? nil
            : RegistryDeletionBridge(
                wiring: RegistryWiring(configuration: configuration, clients: clients, logger: logger), store: store)
        return ContentRoutes.make(store: store, settings: settings, deleter: deleter)
    }
}

/// Deletes through `RepositoryDeletion` as the API caller (with their token's restriction), so the registry is
/// asked first and the database changes only when it accepted; its refusals become API errors.
struct RegistryDeletionBridge: APIRepositoryDeleting {
    let wiring: RegistryWiring
    let store: any Store

    func deleteRepository(_ fullName: String, registry: String, by caller: APICaller) async throws
        -> APIDeletionOutcome
    {
        try await run(registry: registry, caller: caller) { deletion, principal in
            try await deletion.deleteRepository(fullName, as: principal)
        }
    }

    func deleteTag(_ tag: String, in fullName: String, registry: String, by caller: APICaller) async throws
        -> APIDeletionOutcome
    {
        try await run(registry: registry, caller: caller) { deletion, principal in
            try await deletion.deleteTag(tag, in: fullName, as: principal)
        }
    }

    private func run(
        registry name: String, caller: APICaller,
        _ body: (RepositoryDeletion, Principal) async throws -> DeletionResult
    ) async throws -> APIDeletionOutcome {
        guard let deletion = RegistryDeletions(wiring: wiring, store: store).deletion(forRegistry: name) else {
            throw APIError.unavailable("The registry holding this repository is not configured.")
        }
        let principal = Principal(
            userID: caller.userID, username: caller.username, isAdmin: caller.isAdmin,
            restriction: caller.restriction, credential: .applicationToken)
        do {
            let result = try await body(deletion, principal)
            return APIDeletionOutcome(
                digests: result.digests, removedTags: result.removedTags, repositoryRemoved: result.repositoryRemoved)
        } catch let error as DeletionError {
            throw Self.apiError(error)
        }
    }

    /// 403 for the policy, 503 when the registry is away, 422 when it refuses or no longer holds the image.
    static func apiError(_ error: DeletionError) -> APIError {
        let message = ContentMessages.sentence(error.message)
        switch error.code {
        case .invalidName: return APIError(.badRequest, code: "REPOSITORY_NAME_INVALID", message: message)
        case .unknownActor: return APIError.unauthorized("The account no longer exists or is disabled.")
        case .denied: return APIError.denied(message)
        case .notAtRegistry: return APIError(.unprocessableContent, code: "NOT_AT_REGISTRY", message: message)
        case .partial: return APIError(.unprocessableContent, code: "DELETION_PARTIAL", message: message)
        case .registryRefused:
            let code = error.registryError?.code
            if code == .unreachable || code == .timeout {
                return APIError(.serviceUnavailable, code: "REGISTRY_UNAVAILABLE", message: message)
            }
            return APIError(.unprocessableContent, code: "REGISTRY_REFUSED", message: message)
        }
    }
}

/// Sentences for API messages made from service reasons.
enum ContentMessages {
    static func sentence(_ text: String) -> String {
        guard !text.isEmpty else { return "Refused." }
        let first = text.prefix(1).uppercased() + text.dropFirst()
        return first.hasSuffix(".") ? first : first + "."
    }
}
