import CryptoCore
import Foundation
import TestSupport

/// `skopeo` as one client identity: its own auth file (`--authfile` and `REGISTRY_AUTH_FILE`), its
/// own HOME and XDG directories (so no credentials of the machine's user are picked up), a
/// permissive signature policy, and TLS verification off (the registry is plain HTTP on loopback).
struct Skopeo {
    let home: URL
    var authFile: URL { home.appendingPathComponent("auth.json") }
    var policyFile: URL { home.appendingPathComponent("policy.json") }

    /// A client whose files live in `directory/<label>`.
    init(in directory: TemporaryDirectory, label: String) throws {
        home = directory.path("skopeo-\(label)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try #"{"default":[{"type":"insecureAcceptAnything"}]}"#.write(to: policyFile, atomically: true, encoding: .utf8)
    }

    private var environment: [String: String] {
        [
            "REGISTRY_AUTH_FILE": authFile.path, "HOME": home.path, "XDG_CONFIG_HOME": home.path,
            "XDG_RUNTIME_DIR": home.path,
        ]
    }

    /// Runs `skopeo --policy <file> ARGUMENTS`.
    func run(_ arguments: [String], input: String? = nil) async throws -> ProcessResult {
        try await Processes.run(
            Peers.skopeo, ["--policy", policyFile.path] + arguments, input: input, environment: environment,
            directory: home, timeout: 90)
    }

    /// `skopeo login`: the token endpoint answers 200 for good credentials, 401 for bad ones.
    func login(_ registry: Registry, user: String, password: String) async throws -> ProcessResult {
        try await run(
            [
                "login", "--authfile", authFile.path, "--tls-verify=false", "--username", user, "--password-stdin",
                registry.host,
            ], input: password + "\n")
    }

    /// Pushes an OCI layout image to `docker://<registry>/<reference>`; the result's digest file
    /// holds the pushed manifest digest.
    func push(_ image: OCIImage, to registry: Registry, _ reference: String) async throws -> ProcessResult {
        try await run(
            [
                "copy", "--authfile", authFile.path, "--dest-tls-verify=false", image.reference,
                "docker://\(registry.host)/\(reference)",
            ])
    }

    /// Pushes with `--dest-creds USER:PASSWORD` instead of the auth file, as a CI job hands its OIDC token to
    /// skopeo (`--creds <policy>:<JWT>`).
    func push(
        _ image: OCIImage, to registry: Registry, _ reference: String, credentials: (user: String, password: String)
    ) async throws -> ProcessResult {
        try await run([
            "copy", "--dest-creds", "\(credentials.user):\(credentials.password)", "--dest-tls-verify=false",
            image.reference, "docker://\(registry.host)/\(reference)",
        ])
    }

    /// Writes the auth file entry `docker login` leaves when the token endpoint returned a refresh token: the
    /// `identitytoken`, and `auth` = base64("USER:") (containers/image ignores an identity token without it).
    /// From then on skopeo POSTs `grant_type=refresh_token` and never sends the password.
    func storeIdentityToken(_ refreshToken: String, user: String, for registry: Registry) throws {
        let entry: [String: Any] = [
            "auths": [
                registry.host: [
                    "auth": Data("\(user):".utf8).base64EncodedString(), "identitytoken": refreshToken,
                ]
            ]
        ]
        try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]).write(to: authFile)
    }

    /// Pulls `docker://<registry>/<reference>` into a new OCI layout under `directory`; `anonymous`
    /// sends no credentials at all.
    func pull(
        _ registry: Registry, _ reference: String, into directory: URL, anonymous: Bool = false
    ) async throws -> ProcessResult {
        try await run(
            ["copy", "--src-tls-verify=false"] + (anonymous ? ["--src-no-creds"] : ["--authfile", authFile.path])
                + ["docker://\(registry.host)/\(reference)", "oci:\(directory.path):latest"])
    }

    /// `skopeo inspect --format {{.Digest}}` of a remote image: the manifest digest the registry holds.
    func inspectDigest(_ registry: Registry, _ reference: String, anonymous: Bool = false) async throws -> ProcessResult
    {
        try await run(
            ["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
                + (anonymous ? ["--no-creds"] : ["--authfile", authFile.path]) + [
                    "docker://\(registry.host)/\(reference)"
                ])
    }

    /// `skopeo delete` of a remote image (by tag or `@digest`).
    func delete(_ registry: Registry, _ reference: String) async throws -> ProcessResult {
        try await run([
            "delete", "--authfile", authFile.path, "--tls-verify=false", "docker://\(registry.host)/\(reference)",
        ])
    }
}

/// A one-layer image in an OCI image layout directory, built byte by byte so its manifest digest
/// is known before any tool touches it.
struct OCIImage {
    let directory: URL
    let manifestDigest: String
    let layerDigest: String
    let configDigest: String

    /// The `oci:` transport reference skopeo reads it from.
    var reference: String { "oci:\(directory.path):latest" }

    /// Builds the layout in `directory`: a gzip'd tar layer holding one file with `content`
    /// (unique content gives each image its own digests), an image config, a manifest and index.
    static func build(in directory: URL, content: String = UUID().uuidString) async throws -> OCIImage {
        let fileManager = FileManager.default
        let blobs = directory.appendingPathComponent("blobs/sha256")
        try fileManager.createDirectory(at: blobs, withIntermediateDirectories: true)
        let staging = directory.deletingLastPathComponent().appendingPathComponent(
            directory.lastPathComponent + "-rootfs")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: staging) }
        try Data("portcullis end-to-end \(content)\n".utf8).write(to: staging.appendingPathComponent("hello.txt"))

        let tarFile = staging.appendingPathComponent("layer.tar")
        let tar = try await Processes.run(
            Peers.tar,
            ["--numeric-owner", "--owner=0", "--group=0", "-C", staging.path, "-cf", tarFile.path, "hello.txt"])
        guard tar.succeeded else { throw HarnessError("tar failed: \(tar)") }
        // The config's diff_id is the digest of the uncompressed tar, taken before gzip replaces it.
        let uncompressed = "sha256:" + Hex.encode(Digest.sha256([UInt8](try Data(contentsOf: tarFile))))
        let gzip = try await Processes.run(Peers.gzip, ["-n", "-f", tarFile.path])
        guard gzip.succeeded else { throw HarnessError("gzip failed: \(gzip)") }
        let layer = try Data(contentsOf: tarFile.appendingPathExtension("gz"))

        func store(_ data: Data) throws -> (digest: String, size: Int) {
            let hex = Hex.encode(Digest.sha256([UInt8](data)))
            try data.write(to: blobs.appendingPathComponent(hex))
            return ("sha256:" + hex, data.count)
        }
        let storedLayer = try store(layer)
        let config = try store(
            Data(
                """
                {"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["\(uncompressed)"]},"history":[{"created_by":"portcullis end-to-end test"}]}
                """.utf8))
        let manifest = try store(
            Data(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(config.digest)","size":\(config.size)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(storedLayer.digest)","size":\(storedLayer.size)}]}
                """.utf8))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: directory.appendingPathComponent("oci-layout"))
        try Data(
            """
            {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(manifest.digest)","size":\(manifest.size),"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}
            """.utf8
        ).write(to: directory.appendingPathComponent("index.json"))
        return OCIImage(
            directory: directory, manifestDigest: manifest.digest, layerDigest: storedLayer.digest,
            configDigest: config.digest)
    }

    /// The manifest digest recorded in the `index.json` of an OCI layout (what a pull wrote).
    static func indexManifestDigest(of directory: URL) throws -> String? {
        let data = try Data(contentsOf: directory.appendingPathComponent("index.json"))
        let index = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let manifests = index?["manifests"] as? [[String: Any]]
        return manifests?.first?["digest"] as? String
    }
}
