import Diagnostics
import Foundation

/// What Portcullis asks of one Docker/OCI registry's HTTP API: the catalog, tag lists, manifests and
/// deletion by digest.
///
/// Threading contract: every method may be called concurrently from any task and never blocks the
/// cooperative pool (implementations run their blocking I/O on their own threads). Each call carries its
/// own credentials (a short-lived token the implementation mints for exactly the scope it needs).
///
/// Errors: a `RegistryAPIError` with a stable code. "Not there" is an answer, not an error, where the
/// method says so; a listing is either complete or an error, never partial, because reconciliation deletes
/// what a complete listing lacks.
public protocol RegistryAPI: Sendable {
    /// Every repository name the registry holds (all `_catalog` pages followed); throws unless complete.
    func catalog() async throws -> [String]

    /// Every tag of a repository (all `tags/list` pages followed); `nil` when the registry says the
    /// repository does not exist; throws unless complete.
    func tags(of repository: String) async throws -> [String]?

    /// The manifest's digest and media type from a HEAD by tag or digest; `nil` when it does not exist.
    func headManifest(_ repository: String, reference: String) async throws -> ManifestDescriptor?

    /// The manifest document by tag or digest (any of the four manifest media types); `nil` when it does
    /// not exist.
    func manifest(_ repository: String, reference: String) async throws -> FetchedManifest?

    /// Deletes a manifest by digest (the registry then drops every tag pointing at it).
    ///
    /// Throws `.deletionDisabled` on 405, `.notFound` on 404, and the other codes as usual.
    func deleteManifest(_ repository: String, digest: String) async throws
}

/// A manifest's identity as the registry reports it.
public struct ManifestDescriptor: Sendable, Hashable {
    /// The content digest (`sha256:…`), from `Docker-Content-Digest`.
    public var digest: String
    /// The manifest media type, from `Content-Type`.
    public var mediaType: String
    /// The manifest's own length in bytes, if the registry said.
    public var length: Int64?

    /// Describes a manifest.
    public init(digest: String, mediaType: String, length: Int64? = nil) {
        self.digest = digest
        self.mediaType = mediaType
        self.length = length
    }
}

/// A manifest document with its descriptor.
public struct FetchedManifest: Sendable, Hashable {
    /// Its digest and media type.
    public var descriptor: ManifestDescriptor
    /// The raw document bytes as served.
    public var body: [UInt8]

    /// Wraps a fetched manifest.
    public init(descriptor: ManifestDescriptor, body: [UInt8]) {
        self.descriptor = descriptor
        self.body = body
    }
}

/// Why a registry call failed, with a stable code.
public typealias RegistryAPIError = CodedFailure<RegistryAPIErrorCode>

/// The stable codes of a `RegistryAPIError`.
public enum RegistryAPIErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The registry could not be reached, or the connection broke (retried before this is thrown).
    case unreachable = "registry.unreachable"
    /// The registry did not answer within the timeout.
    case timeout = "registry.timeout"
    /// The registry refused our token (401/403).
    case unauthorized = "registry.unauthorized"
    /// The registry refused deletion because it is disabled (405).
    case deletionDisabled = "registry.deletion_disabled"
    /// The thing asked for does not exist (404) where that is an error.
    case notFound = "registry.not_found"
    /// The registry answered 5xx after every retry.
    case serverError = "registry.server_error"
    /// The answer could not be understood (bad JSON, missing digest header, a Link loop).
    case badResponse = "registry.bad_response"
    /// Our own credentials could not be minted.
    case credentials = "registry.credentials"
}

/// The manifest media types Portcullis tracks; blobs and anything else are ignored.
public enum ManifestMediaType {
    /// Docker image manifest, schema 2.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// Docker manifest list (multi-platform).
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// OCI image manifest.
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    /// OCI image index (multi-platform).
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"

    /// All four, in the order a registry client offers them in `Accept`.
    public static let all = [ociIndex, ociManifest, dockerManifestList, dockerManifest]

    /// Whether `mediaType` (parameters ignored) is one of the four.
    public static func isManifest(_ mediaType: String) -> Bool {
        let bare = mediaType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        return all.contains(bare ?? "")
    }

    /// Whether `mediaType` is a multi-platform index (OCI index or Docker manifest list).
    public static func isIndex(_ mediaType: String) -> Bool {
        mediaType.hasPrefix(ociIndex) || mediaType.hasPrefix(dockerManifestList)
    }
}

/// The identity Portcullis's own registry calls act as.
public enum RegistryClientIdentity {
    /// The token subject (and so the registry's event `actor.name`) of Portcullis's own calls; the colon
    /// keeps it apart from every username, so the event worker can skip the pulls its own reads cause.
    public static let subject = "portcullis:registry-client"
}
