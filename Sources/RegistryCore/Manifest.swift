import Diagnostics
import Foundation

/// What Portcullis records about a manifest document: its kind, its image size, and for an index its
/// platforms and children.
public struct ManifestSummary: Sendable, Hashable {
    /// Whether the document describes one image or points at several.
    public enum Kind: String, Sendable, Hashable {
        /// A Docker schema 2 or OCI image manifest.
        case image
        /// A Docker manifest list or OCI image index.
        case index
    }

    /// One manifest an index points at.
    public struct Child: Sendable, Hashable {
        /// The child manifest's digest.
        public var digest: String
        /// The child manifest's media type, if given.
        public var mediaType: String?
        /// The child manifest document's own size in bytes (not the image size).
        public var size: Int64
        /// Its platform as `os/arch[/variant]`, if given.
        public var platform: String?

        /// Describes a child.
        public init(digest: String, mediaType: String?, size: Int64, platform: String?) {
            self.digest = digest
            self.mediaType = mediaType
            self.size = size
            self.platform = platform
        }
    }

    /// The document's kind.
    public var kind: Kind
    /// The media type the document declares, or the one it was served with.
    public var mediaType: String
    /// For an image, config plus layers in bytes; `nil` for an index (the sum of its children's image sizes,
    /// which needs their documents).
    public var imageSize: Int64?
    /// For an index, the distinct platforms of its image children in document order; empty for an image.
    public var platforms: [String]
    /// For an index, the image children (attestation manifests left out); empty for an image.
    public var children: [Child]

    /// Describes a manifest.
    public init(kind: Kind, mediaType: String, imageSize: Int64?, platforms: [String] = [], children: [Child] = []) {
        self.kind = kind
        self.mediaType = mediaType
        self.imageSize = imageSize
        self.platforms = platforms
        self.children = children
    }

    /// The most children an index may list; more is refused as hostile (each one costs a fetch).
    public static let maximumChildren = 1_024
    /// The most layers an image manifest may list.
    public static let maximumLayers = 10_000

    /// Summarizes a manifest document; `servedMediaType` (the `Content-Type` it came with, parameters
    /// ignored) decides when the document declares none, as OCI documents may.
    public static func parse(_ body: some Collection<UInt8>, servedMediaType: String?) throws(ManifestError)
        -> ManifestSummary
    {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: body)
        } catch {
            throw ManifestError(.invalidJSON, "the manifest is not JSON (\(error.reason))")
        }
        guard case .object = document else {
            throw ManifestError(.malformed, "the manifest is \(document.typeName), not an object")
        }
        if case .integer(1) = document["schemaVersion"] {
            throw ManifestError(.unsupported, "schema 1 manifests are not supported")
        }
        let declared: String?
        switch document["mediaType"] {
        case nil, .null: declared = nil
        case .string(let value): declared = value
        case let other?: throw ManifestError(.malformed, "mediaType is \(other.typeName), not a string")
        }
        let served = servedMediaType.flatMap { $0.split(separator: ";").first }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let mediaType = declared ?? served.flatMap { ManifestMediaType.isManifest($0) ? $0 : nil } ?? inferred(document)
        guard let mediaType, ManifestMediaType.isManifest(mediaType) else {
            throw ManifestError(
                .unsupported, "media type \(declared ?? served ?? "(none)") is not one of the four manifest types")
        }
        if ManifestMediaType.isIndex(mediaType) {
            return try parseIndex(document, mediaType: mediaType)
        }
        return try parseImage(document, mediaType: mediaType)
    }

    /// An OCI document without `mediaType` served without a useful `Content-Type`: its shape decides.
    private static func inferred(_ document: JSONValue) -> String? {
        if document["manifests"] != nil { return ManifestMediaType.ociIndex }
        if document["config"] != nil, document["layers"] != nil { return ManifestMediaType.ociManifest }
        return nil
    }

    private static func parseImage(_ document: JSONValue, mediaType: String) throws(ManifestError) -> ManifestSummary {
        guard let config = document["config"], case .object = config else {
            throw ManifestError(.malformed, "the image manifest has no config object")
        }
        var total = try size(of: config, "config")
        guard case .array(let layers)? = document["layers"] else {
            throw ManifestError(.malformed, "the image manifest has no layers array")
        }
        guard layers.count <= maximumLayers else {
            throw ManifestError(.malformed, "the image manifest lists more than \(maximumLayers) layers")
        }
        for (index, layer) in layers.enumerated() {
            let (sum, overflow) = total.addingReportingOverflow(try size(of: layer, "layers[\(index)]"))
            guard !overflow else { throw ManifestError(.malformed, "the layer sizes overflow 64 bits") }
            total = sum
        }
        return ManifestSummary(kind: .image, mediaType: mediaType, imageSize: total)
    }

    private static func parseIndex(_ document: JSONValue, mediaType: String) throws(ManifestError) -> ManifestSummary {
        guard case .array(let manifests)? = document["manifests"] else {
            throw ManifestError(.malformed, "the index has no manifests array")
        }
        guard manifests.count <= maximumChildren else {
            throw ManifestError(.malformed, "the index lists more than \(maximumChildren) manifests")
        }
        var children: [Child] = []
        var platforms: [String] = []
        for (index, entry) in manifests.enumerated() {
            let path = "manifests[\(index)]"
            guard case .object = entry else { throw ManifestError(.malformed, "\(path) is not an object") }
            guard case .string(let digest)? = entry["digest"], ContentDigest.isValid(digest) else {
                throw ManifestError(.malformed, "\(path).digest is missing or not a valid digest")
            }
            // buildx stores provenance next to the images as `unknown/unknown` manifests; they are not platforms.
            if case .string("attestation-manifest")? = entry["annotations"]?["vnd.docker.reference.type"] {
                continue
            }
            var childMediaType: String?
            if case .string(let value)? = entry["mediaType"] { childMediaType = value }
            let platform = try platformName(entry["platform"], path)
            children.append(
                Child(digest: digest, mediaType: childMediaType, size: try size(of: entry, path), platform: platform))
            if let platform, !platforms.contains(platform) { platforms.append(platform) }
        }
        return ManifestSummary(
            kind: .index, mediaType: mediaType, imageSize: nil, platforms: platforms, children: children)
    }

    private static func size(of descriptor: JSONValue, _ path: String) throws(ManifestError) -> Int64 {
        switch descriptor["size"] {
        case .integer(let value)? where value >= 0: return value
        case nil, .null?: throw ManifestError(.malformed, "\(path).size is missing")
        default: throw ManifestError(.malformed, "\(path).size is not a non-negative integer")
        }
    }

    private static func platformName(_ platform: JSONValue?, _ path: String) throws(ManifestError) -> String? {
        guard let platform, platform != .null else { return nil }
        guard case .object = platform else { throw ManifestError(.malformed, "\(path).platform is not an object") }
        func field(_ key: String) -> String? {
            if case .string(let value)? = platform[key], !value.isEmpty, value.utf8.count <= 64,
                !value.contains("/"), value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 })
            {
                return value
            }
            return nil
        }
        guard let os = field("os"), let architecture = field("architecture") else {
            throw ManifestError(.malformed, "\(path).platform lacks a usable os or architecture")
        }
        return [os, architecture, field("variant")].compactMap { $0 }.joined(separator: "/")
    }

    /// The image size of an index: the sum of its children's image sizes, given as `digest → size`; `nil`
    /// when any child's size is unknown or the sum overflows.
    public func indexImageSize(childSizes: [String: Int64]) -> Int64? {
        var total: Int64 = 0
        for child in children {
            guard let size = childSizes[child.digest] else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(size)
            if overflow { return nil }
            total = sum
        }
        return total
    }
}

/// Why a manifest document could not be summarized.
public typealias ManifestError = CodedFailure<ManifestErrorCode>

/// The stable codes of a `ManifestError`.
public enum ManifestErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The document is not JSON.
    case invalidJSON = "manifest.invalid_json"
    /// The document is JSON but lacks or mistypes a field the summary needs.
    case malformed = "manifest.malformed"
    /// The document is of a kind Portcullis does not track (schema 1, an unknown media type).
    case unsupported = "manifest.unsupported"
}
