import Authorization
import Configuration
import Diagnostics
import Foundation
import HTTPClient
import RegistryClient
import RegistryCore
import RegistryIntegration
import Storage
import TokenAuthority
import Webhooks

/// How commands and `serve` reach the configured registries: a client per registry whose tokens
/// Portcullis mints itself, the authorization settings deletions are checked against, and the observer
/// removals are reported to.
struct RegistryWiring {
    let configuration: PortcullisConfiguration
    /// The registry clients by configured registry name.
    let clients: [String: any RegistryAPI]
    let logger: Logger

    /// For a command run without the server: loads the signing keys the clients' tokens are signed with.
    init(configuration: PortcullisConfiguration, logger: Logger) throws(CommandFailure) {
        let keyRing = try SigningKeyRingStore.configured(by: configuration.token)
        self.init(
            configuration: configuration,
            clients: RegistryClientAssembly(configuration: configuration, keyRing: keyRing, logger: logger).clients,
            logger: logger)
    }

    /// Shares clients already built (`serve`'s, signing with its key ring, which it reloads as keys rotate).
    init(configuration: PortcullisConfiguration, clients: [String: any RegistryAPI], logger: Logger) {
        self.configuration = configuration
        self.clients = clients
        self.logger = logger
    }

    /// The registries named by `--registry` (every configured one when nil).
    func registries(named name: String?) throws(CommandFailure) -> [RegistrySettings] {
        try configuration.registries(named: name)
    }

    /// The one registry a command acts on: `--registry`, or the only configured one.
    func registry(named name: String?) throws(CommandFailure) -> RegistrySettings {
        try configuration.registry(named: name)
    }

    /// The client for `registry`, which mints its own short-lived tokens for exactly each call's scope.
    func client(for registry: RegistrySettings) -> any RegistryAPI { clients[registry.name]! }

    /// The deletion policy switches, as the token endpoint applies them.
    var authorization: AuthorizationSettings { configuration.policy.authorization }

    /// Who hears of removals: outgoing webhooks. Deliveries are queued in the removal's transaction; the
    /// running server's delivery worker finds them at its next poll.
    func changeObserver(store: any Store) -> (any RepositoryChangeObserver)? { WebhookDispatcher() }

    /// A reconciler for `registry`.
    func reconciler(for registry: RegistrySettings, store: any Store) -> Reconciler {
        Reconciler(
            registry: registry.name, api: client(for: registry), store: store, observer: changeObserver(store: store),
            logger: logger.named("sync"), concurrency: configuration.catalogSync.concurrency)
    }
}

/// `portcullis registry …`
enum RegistryCommands {
    /// `registry sync [--registry NAME] [--dry-run]`: reconciles the stored catalog with each registry
    /// now, printing every change; `--dry-run` writes nothing.
    static func sync(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["dry-run"])
        let dryRun = parsed.flag("dry-run")
        let only = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let wiring = try RegistryWiring(configuration: context.configuration, logger: context.logger)
        let registries = try wiring.registries(named: only)
        try await context.withStore { store in
            // Each registry's sync lease, so a running server's sync or another `registry sync`, on this host or
            // any other on the database, is never run over.
            var unlisted: [String] = []
            for registry in registries {
                let reconciler = wiring.reconciler(for: registry, store: store)
                let ran = try await ExclusiveLease.withLease(ExclusiveLease.catalogSync(registry.name), store: store) {
                    fence in try await reconciler.run(dryRun: dryRun, fence: fence)
                }
                guard let report = ran else {
                    throw CommandFailure(
                        .unavailable,
                        "a catalog sync of \(registry.name) is running against this database; try later")
                }
                print(InertText.escapedLines(report.rendered()), terminator: "")
                if report.catalogCount == nil { unlisted.append(registry.name) }
            }
            if !unlisted.isEmpty {
                throw CommandFailure(
                    .unavailable,
                    "the catalog of \(unlisted.joined(separator: ", ")) could not be listed, so nothing was removed there"
                )
            }
        }
    }

    /// `registry events [--state pending|processed|failed|ignored] [--limit N]`: stored notifications in one
    /// state, oldest first (default: failed, with why), so an operator can see what the worker refused.
    static func events(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let stateText = parsed.option("state") ?? RegistryEventState.failed.rawValue
        guard let state = RegistryEventState(rawValue: stateText) else {
            let states = RegistryEventState.allCases.map(\.rawValue).joined(separator: ", ")
            throw CommandFailure(.usage, "--state takes one of \(states), not '\(stateText)'")
        }
        let limitText = parsed.option("limit") ?? "100"
        guard let limit = Int(limitText), limit > 0 else {
            throw CommandFailure(.usage, "--limit takes a positive whole number, not '\(limitText)'")
        }
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let events = try await context.withStore { store in
            try await store.read { try $0.registryEvents(in: state, limit: limit) }
        }
        print(
            table(
                header: ["ID", "REGISTRY", "EVENT", "RECEIVED", "ATTEMPTS", "ERROR"],
                rows: events.map { event in
                    [
                        "\(event.id.rawValue)", event.registry, event.eventID, event.receivedAt.formatted(.iso8601),
                        "\(event.attempts)", WebhookCommands.printable(event.lastError ?? "-"),
                    ]
                }), terminator: "")
    }

    /// The periodic reconciliation `serve` runs, one job per configured registry; none when disabled.
    static func backgroundJobs(
        configuration: PortcullisConfiguration, clients: [String: any RegistryAPI], store: any Store, logger: Logger
    ) -> [BackgroundJob] {
        guard configuration.catalogSync.enabled, !configuration.registries.isEmpty else { return [] }
        let wiring = RegistryWiring(configuration: configuration, clients: clients, logger: logger)
        return configuration.registries.map { registry in
            let reconciler = wiring.reconciler(for: registry, store: store)
            return BackgroundJob(
                name: "catalog-sync:\(registry.name)", interval: configuration.catalogSync.interval,
                logger: logger.named("jobs")
            ) {
                let ran = try await ExclusiveLease.withLease(ExclusiveLease.catalogSync(registry.name), store: store) {
                    fence in try await reconciler.run(fence: fence)
                }
                if ran == nil {
                    logger.info("catalog sync skipped: another sync is running", ["registry": registry.name])
                }
            }
        }
    }
}

/// `portcullis repository …`
enum RepositoryCommands {
    /// `repository list [NAMESPACE] [--registry NAME] [--json]`.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["json"])
        let json = parsed.flag("json")
        let only = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let namespaceFilter = parsed.positionals.first
        let wiring = try RegistryWiring(configuration: context.configuration, logger: context.logger)
        let registries = try wiring.registries(named: only).map(\.name)
        let rows = try await context.read { reader -> [[String: String]] in
            if let namespaceFilter, try reader.namespace(named: namespaceFilter) == nil {
                throw CommandFailure(.dataError, "no namespace '\(namespaceFilter)'")
            }
            var rows: [[String: String]] = []
            for registry in registries {
                for repository in try reader.repositories(ofRegistry: registry) {
                    let namespace = try reader.namespace(id: repository.namespaceID)
                    guard namespaceFilter == nil || namespace?.name == namespaceFilter else { continue }
                    let tags = try reader.tags(in: repository.id)
                    let full =
                        namespace?.kind == .global || namespace == nil
                        ? repository.name : "\(namespace!.name)/\(repository.name)"
                    rows.append([
                        "registry": registry, "repository": full, "namespace": namespace?.name ?? "",
                        "tags": "\(tags.count)",
                        "updated": (tags.map(\.updatedAt).max() ?? repository.updatedAt).formatted(.iso8601),
                    ])
                }
            }
            return rows.sorted { ($0["registry"]!, $0["repository"]!) < ($1["registry"]!, $1["repository"]!) }
        }
        if json {
            print(Table.json(rows))
        } else {
            print(
                table(
                    header: ["REGISTRY", "REPOSITORY", "TAGS", "UPDATED"],
                    rows: rows.map { [$0["registry"]!, $0["repository"]!, $0["tags"]!, $0["updated"]!] }),
                terminator: "")
        }
    }

    /// `repository delete NS/REPO --as USER [--registry NAME]`.
    static func delete(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let name = try parsed.positional(0, "repository (NAMESPACE/NAME)")
        let (result, registry) = try await DeletionCommand.run(&parsed) { try await $0.deleteRepository(name, as: $1) }
        print(
            "deleted \(name) at \(registry.name): \(result.digests.count) manifest(s)"
                + (result.removedTags.isEmpty ? "" : ", tags \(result.removedTags.joined(separator: ", "))")
                + (result.repositoryRemoved ? "; repository removed" : ""))
    }
}

/// `portcullis tag …`
enum TagCommands {
    /// `tag list NS/REPO [--registry NAME] [--json]`.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["json"])
        let json = parsed.flag("json")
        let name = try parsed.positional(0, "repository (NAMESPACE/NAME)")
        let only = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let wiring = try RegistryWiring(configuration: context.configuration, logger: context.logger)
        let registry = try wiring.registry(named: only).name
        let tags = try await context.read { reader -> [Storage.Tag] in
            let parts = RepositoryName.split(name)
            guard
                let namespace = try parts.namespace.map({ try reader.namespace(named: $0) })
                    ?? reader.globalNamespace(),
                let repository = try reader.repository(named: parts.name, in: namespace.id, registry: registry)
            else { throw CommandFailure(.dataError, "no repository '\(name)' in registry '\(registry)'") }
            return try reader.tags(in: repository.id).sorted { $0.name < $1.name }
        }
        let rows: [[String: String]] = tags.map { tag in
            [
                "tag": tag.name, "digest": tag.digest, "media_type": tag.mediaType ?? "",
                "size": tag.size.map(String.init) ?? "", "author": tag.pushedByName ?? "",
                "platforms": tag.platforms.joined(separator: ","), "pushed": tag.updatedAt.formatted(.iso8601),
                "last_pulled": tag.lastPulledAt?.formatted(.iso8601) ?? "", "pulls": "\(tag.pullCount)",
            ]
        }
        if json {
            print(Table.json(rows))
            return
        }
        print(
            table(
                header: ["TAG", "DIGEST", "MEDIA TYPE", "SIZE", "AUTHOR", "PUSHED", "LAST PULLED", "PULLS"],
                rows: tags.map { tag in
                    [
                        tag.name, String(tag.digest.prefix(19)), Table.shortMediaType(tag.mediaType),
                        tag.size.map(Table.bytes) ?? "-", tag.pushedByName ?? "-", tag.updatedAt.formatted(.iso8601),
                        tag.lastPulledAt?.formatted(.iso8601) ?? "-", "\(tag.pullCount)",
                    ]
                }), terminator: "")
    }

    /// `tag delete NS/REPO:TAG --as USER [--registry NAME]`.
    static func delete(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let reference = try parsed.positional(0, "tag (NAMESPACE/NAME:TAG)")
        guard let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/"),
            colon != reference.startIndex, reference.index(after: colon) != reference.endIndex
        else { throw CommandFailure(.usage, "'\(reference)' is not NAMESPACE/NAME:TAG") }
        let repository = String(reference[..<colon])
        let tag = String(reference[reference.index(after: colon)...])
        let (result, registry) = try await DeletionCommand.run(&parsed) {
            try await $0.deleteTag(tag, in: repository, as: $1)
        }
        print(
            "deleted \(repository)@\(result.digests.joined(separator: ", ")) at \(registry.name): tags "
                + result.removedTags.joined(separator: ", ") + (result.repositoryRemoved ? "; repository removed" : ""))
    }
}

/// Runs a deletion as the named user and turns its refusals into command failures.
enum DeletionCommand {
    /// Reads `--as` and `--registry` (the one positional argument already taken), opens the store and runs
    /// `body`; returns its result and the registry it ran against.
    static func run(
        _ parsed: inout ParsedArguments, _ body: (RepositoryDeletion, Principal) async throws -> DeletionResult
    ) async throws -> (DeletionResult, RegistrySettings) {
        guard let actor = parsed.option("as") else {
            throw CommandFailure(.usage, "say whom the deletion acts as with --as USER (checked against the policy)")
        }
        let only = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let wiring = try RegistryWiring(configuration: context.configuration, logger: context.logger)
        let registry = try wiring.registry(named: only)
        let result = try await context.withStore { store in
            try await perform(store: store, wiring: wiring, registry: registry, actor: actor, body)
        }
        return (result, registry)
    }

    static func perform(
        store: any Store, wiring: RegistryWiring, registry: RegistrySettings, actor: String,
        _ body: (RepositoryDeletion, Principal) async throws -> DeletionResult
    ) async throws -> DeletionResult {
        let deletion = RepositoryDeletion(
            registry: registry.name, api: wiring.client(for: registry), store: store,
            authorization: wiring.authorization, observer: wiring.changeObserver(store: store),
            logger: wiring.logger.named("deletion"))
        do {
            let principal = try await RepositoryDeletion.principal(named: actor, in: store)
            return try await body(deletion, principal)
        } catch let error as DeletionError {
            let status: ExitStatus
            switch error.code {
            case .invalidName: status = .usage
            case .unknownActor, .notAtRegistry: status = .dataError
            case .registryRefused:
                let code = error.registryError?.code
                status = code == .unreachable || code == .timeout ? .unavailable : .failure
            case .denied, .partial: status = .failure
            }
            throw CommandFailure(status, error.message)
        }
    }
}

/// Plain-text tables and JSON for the listing commands.
enum Table {
    /// The rows as a JSON array of objects with sorted keys.
    static func json(_ rows: [[String: String]]) -> String {
        let data =
            (try? JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys, .prettyPrinted]))
            ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A byte count as a short human figure (1024-based, as `docker images` shows sizes).
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }

    /// The manifest media type in a few characters.
    static func shortMediaType(_ mediaType: String?) -> String {
        switch mediaType {
        case ManifestMediaType.dockerManifest?: "docker"
        case ManifestMediaType.dockerManifestList?: "docker-list"
        case ManifestMediaType.ociManifest?: "oci"
        case ManifestMediaType.ociIndex?: "oci-index"
        case let other?: other
        case nil: "-"
        }
    }
}

extension PortcullisConfiguration {
    /// The registries named by `--registry` (every configured one when nil).
    func registries(named name: String?) throws(CommandFailure) -> [RegistrySettings] {
        guard !registries.isEmpty else {
            throw CommandFailure(.configuration, "no registry is configured (add one under registries:)")
        }
        guard let name else { return registries }
        guard let found = registries.first(where: { $0.name == name }) else {
            throw CommandFailure(
                .dataError,
                "no registry named '\(name)'; configured: \(registries.map(\.name).joined(separator: ", "))"
            )
        }
        return [found]
    }

    /// The one registry a command acts on: `--registry`, or the only configured one.
    func registry(named name: String?) throws(CommandFailure) -> RegistrySettings {
        let found = try registries(named: name)
        guard found.count == 1 else {
            throw CommandFailure(
                .usage,
                "several registries are configured; choose one with --registry "
                    + found.map(\.name).joined(separator: "|"))
        }
        return found[0]
    }
}
