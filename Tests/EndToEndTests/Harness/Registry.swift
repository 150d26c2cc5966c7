import Foundation
import TestSupport

/// The end-to-end suite's registry: a ``DockerRegistry`` with token auth pointing at a portcullis.
final class Registry {
    let realm: String
    let service: String
    private let registry: DockerRegistry

    var port: Int { registry.port }
    var directory: TemporaryDirectory { registry.directory }
    var configFile: URL { registry.configFile }
    /// The `host:port` clients put in image references.
    var host: String { registry.host }
    var url: String { registry.url }

    /// Writes the configuration; ``start()`` runs it.
    init(port: Int, realm: String, service: String, issuer: String, rootCertificateBundle: String) throws {
        self.realm = realm
        self.service = service
        registry = try DockerRegistry(
            DockerRegistry.Options(
                tokenAuth: DockerRegistry.TokenAuth(
                    realm: realm, service: service, issuer: issuer, rootCertificateBundle: rootCertificateBundle),
                port: port))
    }

    /// Starts `docker-registry serve` and waits until `GET /v2/` answers 401 with the Bearer challenge.
    func start() async throws {
        do {
            try await registry.start()
        } catch {
            throw HarnessError("\(error)")
        }
    }

    /// The end of the registry's log.
    func logTail(_ characters: Int = 4000) -> String { registry.logTail(characters) }

    /// Kills the registry and removes its storage.
    func stop() { registry.remove() }
}
