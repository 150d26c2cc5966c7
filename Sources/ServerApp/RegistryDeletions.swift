import Authorization
import Foundation
import RegistryIntegration
import Storage

/// The deletion path both front doors share (the REST API's `RegistryDeletionBridge`, the web UI's
/// `WebRegistryDeletion`): picks the configured registry a repository row names and builds the
/// `RepositoryDeletion` that asks that registry first and changes the database only when it accepted.
struct RegistryDeletions: Sendable {
    let wiring: RegistryWiring
    let store: any Store

    /// The deletion service of the registry named `name`, nil when it is not configured or has no client.
    /// Rows recorded before registries had names carry '': the only configured registry holds them.
    func deletion(forRegistry name: String) -> RepositoryDeletion? {
        let registries = wiring.configuration.registries
        guard
            let registry = registries.first(where: { $0.name == name })
                ?? (name.isEmpty && registries.count == 1 ? registries.first : nil),
            wiring.clients[registry.name] != nil
        else { return nil }
        return RepositoryDeletion(
            registry: registry.name, api: wiring.client(for: registry), store: store,
            authorization: wiring.authorization, observer: wiring.changeObserver(store: store),
            logger: wiring.logger.named("deletion"))
    }
}
