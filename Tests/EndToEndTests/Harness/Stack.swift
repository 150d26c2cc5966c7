import Foundation
import TestSupport

/// One portcullis and the registry that trusts it, with a seeded cast:
///
/// - `admin`: administrator;
/// - `alice`: owner of team `devs`, which owns namespaces `devs-private` (private) and
///   `devs-public` (public); personal namespace `alice`;
/// - `bob`: viewer in `devs`; personal namespace `bob`;
/// - `carol`: in no team.
///
/// Every process is killed by PID and every directory removed by ``stop()`` (also on deinit).
final class Stack {
    /// A user of the seeded cast.
    struct User {
        let name: String
        let password: String
        var credentials: (name: String, password: String) { (name, password) }
    }

    static let admin = User(name: "admin", password: "admin-password-e2e")
    static let alice = User(name: "alice", password: "alice-password-e2e")
    static let bob = User(name: "bob", password: "bob-password-e2e")
    static let carol = User(name: "carol", password: "carol-password-e2e")

    let portcullis: Portcullis
    let registry: Registry
    /// Client homes, images and pulled layouts of this test.
    let scratch: TemporaryDirectory
    /// The file the registry trusts (auth.token.rootcertbundle).
    var bundle: URL { portcullis.directory.path("rootcertbundle.pem") }

    private init(portcullis: Portcullis, registry: Registry, scratch: TemporaryDirectory) {
        self.portcullis = portcullis
        self.registry = registry
        self.scratch = scratch
    }

    /// Builds and starts a stack.
    ///
    /// `prepareKeys` runs after the database is seeded and before anything starts; it must leave the
    /// signing keys configured and return the certificates (sandbox-relative paths) for the bundle,
    /// or nil to have the bundle written by `portcullis keys bundle --output`. By default it
    /// generates one key of `keyType` and bundles its certificate.
    static func start(
        keyType: Portcullis.KeyType = .ec,
        prepareKeys: ((Portcullis) async throws -> [String]?)? = nil
    ) async throws -> Stack {
        try Peers.require()
        let service = "e2e-registry.test"
        let issuer = "portcullis-e2e"
        let portcullisPort = try freePort()
        var registryPort = try freePort()
        while registryPort == portcullisPort { registryPort = try freePort() }
        let portcullis = try Portcullis(
            port: portcullisPort, service: service, issuer: issuer, registryURL: "http://127.0.0.1:\(registryPort)")
        let scratch: TemporaryDirectory
        do {
            scratch = try TemporaryDirectory("scratch")
        } catch {
            portcullis.stop()
            throw error
        }
        var registry: Registry?
        do {
            try await seed(portcullis)
            let bundle = portcullis.directory.path("rootcertbundle.pem")
            let certificates: [String]?
            if let prepareKeys {
                certificates = try await prepareKeys(portcullis)
            } else {
                try portcullis.configureSigningKeys([Portcullis.defaultKey])
                try await portcullis.generateKey(keyType)
                certificates = [Portcullis.defaultKey.certificate]
            }
            if let certificates {
                try portcullis.writeBundle(of: certificates, to: bundle)
            } else {
                try await portcullis.must(["keys", "bundle", "--output", bundle.path])
            }
            registry = try Registry(
                port: registryPort, realm: portcullis.realm, service: service, issuer: issuer,
                rootCertificateBundle: bundle.path)
            try await portcullis.start()
            try await registry!.start()
            return Stack(portcullis: portcullis, registry: registry!, scratch: scratch)
        } catch {
            registry?.stop()
            portcullis.stop()
            scratch.remove()
            throw error
        }
    }

    /// The accounts, team and namespaces every scenario uses, through the administration CLI.
    static func seed(_ portcullis: Portcullis) async throws {
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser(admin.name, password: admin.password, admin: true)
        for user in [alice, bob, carol] {
            try await portcullis.createUser(user.name, password: user.password)
        }
        try await portcullis.createTeam("devs", owner: alice.name)
        try await portcullis.addMember(team: "devs", user: bob.name, role: "viewer")
        try await portcullis.createNamespace("devs-private", team: "devs")
        try await portcullis.createNamespace("devs-public", team: "devs")
        try await portcullis.setVisibility("devs-public", "public")
    }

    /// A skopeo client with its own auth file (`label` is usually the user name).
    func client(_ label: String) throws -> Skopeo { try Skopeo(in: scratch, label: label) }

    /// A skopeo client already logged in as `user`.
    func loggedIn(_ user: User) async throws -> Skopeo {
        let client = try client(user.name)
        let login = try await client.login(registry, user: user.name, password: user.password)
        guard login.succeeded else { throw HarnessError("skopeo login as \(user.name) failed: \(login)\n\(logs())") }
        return client
    }

    /// A fresh one-layer image in an OCI layout.
    func image(_ label: String = "image") async throws -> OCIImage {
        try await OCIImage.build(in: scratch.path("\(label)-\(UUID().uuidString.prefix(8))"))
    }

    /// A new directory for a pulled layout.
    func pullDestination(_ label: String = "pulled") -> URL { scratch.path("\(label)-\(UUID().uuidString.prefix(8))") }

    /// The ends of both servers' logs, for failure messages.
    func logs() -> String { portcullis.logTail() + "\n" + registry.logTail() }

    /// A registry API call with a bearer token (nil: none).
    func registryRequest(_ method: String = "GET", _ path: String, token: String?, headers: [String] = []) async throws
        -> HTTPResult
    {
        try await HTTP.request(
            registry.url + path, method: method,
            headers: headers + (token.map { ["Authorization: Bearer \($0)"] } ?? []))
    }

    /// Kills both servers and removes every directory.
    func stop() {
        registry.stop()
        portcullis.stop()
        scratch.remove()
    }

    deinit { stop() }
}
