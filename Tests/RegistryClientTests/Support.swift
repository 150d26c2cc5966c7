import CryptoCore
import Foundation
import HTTPClient
import RegistryClient
import RegistryCore
import Synchronization
import TestSupport
import Testing

/// A signing key and its self-signed certificate, written as the registry's rootcertbundle.
struct TestPKI: Sendable {
    static let issuer = "registry-client-tests"
    static let service = "client-tests.registry"

    let key: PrivateKey
    let certificate: Certificate

    static let shared: TestPKI = {
        // swift-format-ignore: a test fixture that cannot be built is a broken machine, not a test failure.
        let key = try! PrivateKey.generate(.ecP256)
        let certificate = try! Certificate.selfSigned(key: key, commonName: "registry-client-tests", validity: .seconds(86400))
        return TestPKI(key: key, certificate: certificate)
    }()

    /// Signs a registry 2.8 token (x5c + libtrust kid, integer times, string aud) granting `access`.
    func sign(subject: String, access: [(type: String, name: String, actions: [String])], lifetime: Int = 300) throws
        -> String
    {
        let header: [String: Any] = [
            "alg": "ES256", "typ": "JWT", "kid": certificate.publicKey.libtrustKeyID(),
            "x5c": [Data(certificate.derEncoded).base64EncodedString()],
        ]
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": Self.issuer, "sub": subject, "aud": Self.service, "exp": now + lifetime, "nbf": now - 10, "iat": now,
            "jti": UUID().uuidString,
            "access": access.map { ["type": $0.type, "name": $0.name, "actions": $0.actions] },
        ]
        let signingInput =
            Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) + "."
            + Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try key.sign(Array(signingInput.utf8), algorithm: .es256)
        return signingInput + "." + Base64URL.encode(signature)
    }
}

/// A `RegistryTokenSource` that signs tokens in the test, recording every scope set it minted for.
final class HandSignedTokens: RegistryTokenSource {
    let pki: TestPKI
    let lifetime: Int
    private let minted = Mutex<[[RegistryScope]]>([])

    init(pki: TestPKI = .shared, lifetime: Int = 300) {
        self.pki = pki
        self.lifetime = lifetime
    }

    /// Every scope set asked for, in order.
    var requests: [[RegistryScope]] { minted.withLock { $0 } }

    func token(for scopes: [RegistryScope]) async throws -> RegistryToken {
        minted.withLock { $0.append(scopes) }
        let value = try pki.sign(
            subject: RegistryClientIdentity.subject, access: scopes.map { ($0.type, $0.name, $0.actions) },
            lifetime: lifetime)
        return RegistryToken(value: value, expiresAt: Date().addingTimeInterval(Double(lifetime)))
    }
}

/// A token source that always fails, as one with no signing key does.
struct FailingTokens: RegistryTokenSource {
    struct NoKey: Error, CustomStringConvertible { var description: String { "no signing key" } }
    func token(for scopes: [RegistryScope]) async throws -> RegistryToken { throw NoKey() }
}

/// A real docker-registry with token auth trusting ``TestPKI``, on its own storage.
final class RegistryFixture {
    let registry: DockerRegistry
    let bundle: URL

    init(deleteEnabled: Bool = true, pathPrefix: String? = nil) async throws {
        let bundleDirectory = try TemporaryDirectory("client-bundle")
        bundle = bundleDirectory.path("bundle.pem")
        try TestPKI.shared.certificate.pemEncoded().write(to: bundle, atomically: true, encoding: .utf8)
        registry = try DockerRegistry(
            DockerRegistry.Options(
                tokenAuth: DockerRegistry.TokenAuth(
                    realm: "http://127.0.0.1:1/token", service: TestPKI.service, issuer: TestPKI.issuer,
                    rootCertificateBundle: bundle.path),
                deleteEnabled: deleteEnabled, pathPrefix: pathPrefix))
        try await registry.start()
    }

    /// A client for this registry with quick retries, so failure tests stay short.
    func client(
        tokens: any RegistryTokenSource = HandSignedTokens(), http: any HTTPFetching = CurlHTTPClient(),
        configure: (inout HTTPRegistryClient.Configuration) -> Void = { _ in }
    ) -> HTTPRegistryClient {
        var configuration = HTTPRegistryClient.Configuration(name: "test", baseURL: registry.url)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(100)
        configure(&configuration)
        return HTTPRegistryClient(configuration: configuration, http: http, tokens: tokens)
    }

    /// Pushes images with plain HTTP calls, as a registry client would.
    var pusher: Pusher { Pusher(baseURL: registry.url) }

    deinit {
        registry.remove()
        try? FileManager.default.removeItem(at: bundle.deletingLastPathComponent())
    }
}

/// Passes requests to libcurl and records each URL, to see how many pages a listing took.
final class RecordingFetcher: HTTPFetching {
    private let inner = CurlHTTPClient()
    private let recorded = Mutex<[String]>([])

    var urls: [String] { recorded.withLock { $0 } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        recorded.withLock { $0.append(request.url) }
        return try await inner.send(request)
    }
}

/// A manifest as pushed: its bytes, digest and media type.
struct PushedManifest {
    let body: [UInt8]
    let mediaType: String
    var digest: String { Hex.digest(body) }
    var size: Int { body.count }
}

enum Hex {
    static func digest(_ bytes: [UInt8]) -> String {
        "sha256:" + Digest.sha256(bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Pushes blobs (monolithic upload) and manifests with plain HTTP calls and a hand-signed push token.
struct Pusher {
    let baseURL: String
    let http = CurlHTTPClient()

    private func token(_ repository: String) throws -> String {
        try TestPKI.shared.sign(subject: "pusher", access: [("repository", repository, ["pull", "push"])])
    }

    /// `POST /v2/<name>/blobs/uploads/` then `PUT <location>&digest=…` with the bytes.
    func pushBlob(_ repository: String, _ bytes: [UInt8]) async throws -> String {
        let digest = Hex.digest(bytes)
        let auth = ("Authorization", "Bearer \(try token(repository))")
        let started = try await http.send(
            OutboundRequest(method: .post, url: "\(baseURL)/v2/\(repository)/blobs/uploads/", headers: [auth], body: []))
        guard started.status == 202, var location = started.header("Location") else {
            throw PushError("upload start for \(repository): HTTP \(started.status) \(started.bodyText)")
        }
        if location.hasPrefix("/") {
            let origin = baseURL.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3)
                .joined(separator: "/")
            location = origin + location
        }
        location += (location.contains("?") ? "&" : "?") + "digest=\(digest)"
        let finished = try await http.send(
            OutboundRequest(
                method: .put, url: location, headers: [auth, ("Content-Type", "application/octet-stream")], body: bytes))
        guard finished.status == 201 else {
            throw PushError("blob PUT for \(repository): HTTP \(finished.status) \(finished.bodyText)")
        }
        return digest
    }

    /// `PUT /v2/<name>/manifests/<reference>`.
    func pushManifest(_ repository: String, _ manifest: PushedManifest, reference: String) async throws {
        let response = try await http.send(
            OutboundRequest(
                method: .put, url: "\(baseURL)/v2/\(repository)/manifests/\(reference)",
                headers: [("Authorization", "Bearer \(try token(repository))"), ("Content-Type", manifest.mediaType)],
                body: manifest.body))
        guard response.status == 201 else {
            throw PushError("manifest PUT \(repository):\(reference): HTTP \(response.status) \(response.bodyText)")
        }
    }

    /// A one-layer image manifest of `mediaType` (Docker schema 2 or OCI), its blobs pushed; not tagged.
    func image(_ repository: String, mediaType: String, label: String = UUID().uuidString) async throws -> PushedManifest {
        let oci = mediaType == ManifestMediaType.ociManifest
        let config = try json([
            "architecture": "amd64", "os": "linux", "rootfs": ["type": "layers", "diff_ids": [] as [String]],
            "config": ["Labels": ["label": label]],
        ])
        let layer = Array("layer \(label) \(UUID().uuidString)".utf8)
        let configDigest = try await pushBlob(repository, config)
        let layerDigest = try await pushBlob(repository, layer)
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": mediaType,
            "config": [
                "mediaType": oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json",
                "size": config.count, "digest": configDigest,
            ],
            "layers": [
                [
                    "mediaType": oci ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": layer.count, "digest": layerDigest,
                ]
            ],
        ]
        return PushedManifest(body: try json(manifest), mediaType: mediaType)
    }

    /// Pushes a one-layer image under `tag`.
    @discardableResult
    func pushImage(_ repository: String, tag: String, mediaType: String = ManifestMediaType.dockerManifest) async throws
        -> PushedManifest
    {
        let manifest = try await image(repository, mediaType: mediaType, label: "\(repository):\(tag)")
        try await pushManifest(repository, manifest, reference: tag)
        return manifest
    }

    /// Pushes two platform images by digest, then an index (OCI) or manifest list (Docker) of them under `tag`.
    func pushIndex(_ repository: String, tag: String, oci: Bool) async throws -> PushedManifest {
        let childType = oci ? ManifestMediaType.ociManifest : ManifestMediaType.dockerManifest
        var entries: [[String: Any]] = []
        for (os, architecture) in [("linux", "amd64"), ("linux", "arm64")] {
            let child = try await image(repository, mediaType: childType, label: "\(tag)-\(architecture)")
            try await pushManifest(repository, child, reference: child.digest)
            entries.append([
                "mediaType": childType, "size": child.size, "digest": child.digest,
                "platform": ["os": os, "architecture": architecture],
            ])
        }
        let indexType = oci ? ManifestMediaType.ociIndex : ManifestMediaType.dockerManifestList
        let index = PushedManifest(
            body: try json(["schemaVersion": 2, "mediaType": indexType, "manifests": entries]), mediaType: indexType)
        try await pushManifest(repository, index, reference: tag)
        return index
    }

    private func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}

struct PushError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Whether `error` is a `RegistryAPIError` with `code`.
func hasCode(_ code: RegistryAPIError.Code) -> @Sendable (any Error) -> Bool {
    { ($0 as? RegistryAPIError)?.code == code }
}

/// Skips the registry suites on a machine without docker-registry (fails instead when CI=true).
let registryInstalled = DockerRegistry.isInstalled || ProcessInfo.processInfo.environment["CI"] == "true"
