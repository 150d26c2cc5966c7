import Foundation
import TestSupport

/// A Docker Distribution 2.8 registry (Debian's `docker-registry`) on a free loopback port, with
/// filesystem storage in its own temporary directory and token auth pointing at a portcullis.
final class Registry {
    let port: Int
    let directory: TemporaryDirectory
    let realm: String
    let service: String
    private var process: BackgroundProcess?

    /// The `host:port` clients put in image references.
    var host: String { "127.0.0.1:\(port)" }
    var url: String { "http://\(host)" }

    /// Writes the configuration; ``start()`` runs it.
    init(port: Int, realm: String, service: String, issuer: String, rootCertificateBundle: String) throws {
        self.port = port
        self.realm = realm
        self.service = service
        directory = try TemporaryDirectory("registry")
        try FileManager.default.createDirectory(at: directory.path("storage"), withIntermediateDirectories: true)
        // Debug logging: on a refused token the registry names the real reason (wrong audience,
        // untrusted key), which is what a failing test needs to show.
        let config = """
            version: 0.1
            log:
              level: debug
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory.path("storage").path)
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:\(port)
              secret: e2e-\(UUID().uuidString)
            auth:
              token:
                realm: \(realm)
                service: \(service)
                issuer: \(issuer)
                rootcertbundle: \(rootCertificateBundle)
            health:
              storagedriver:
                enabled: false

            """
        try config.write(to: configFile, atomically: true, encoding: .utf8)
    }

    var configFile: URL { directory.path("config.yml") }

    /// Starts `docker-registry serve` and waits until `GET /v2/` answers 401 with the Bearer challenge.
    func start() async throws {
        // Every REGISTRY_* variable overrides the configuration (skopeo's REGISTRY_AUTH_FILE would
        // become auth.file and stop the registry from starting), so none is passed on.
        let process = try BackgroundProcess(
            name: "docker-registry", executable: Peers.registry, arguments: ["serve", configFile.path],
            environment: [:], removing: ["REGISTRY_"], directory: directory.url, logFile: directory.path("registry.log")
        )
        self.process = process
        let ready = try await waitUntil(seconds: 20) {
            guard process.isRunning else { return false }
            let answer = try await HTTP.request(url + "/v2/")
            return answer.status == 401 && (answer.header("www-authenticate") ?? "").hasPrefix("Bearer realm=")
        }
        guard ready else {
            let log = process.logTail()
            stop()
            throw HarnessError("the registry on \(host) did not answer 401 with a Bearer challenge\n\(log)")
        }
    }

    /// The end of the registry's log.
    func logTail(_ characters: Int = 4000) -> String { process?.logTail(characters) ?? "(registry not started)" }

    /// Kills the registry and removes its storage.
    func stop() {
        process?.stop()
        process = nil
        directory.remove()
    }

    deinit { stop() }
}
