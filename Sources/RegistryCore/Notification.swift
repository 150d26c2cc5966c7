import Diagnostics
import Foundation

/// One event of a registry notification envelope, checked and typed.
///
/// Built by `RegistryNotification.parse(_:)` from one event object; every field the registry documents is
/// kept, and only what Portcullis relies on is required (see `NotificationError` for what is refused).
public struct RegistryNotification: Sendable, Hashable {
    /// What the registry did.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// A blob or manifest was uploaded.
        case push
        /// A blob or manifest was read.
        case pull
        /// A blob was mounted from another repository.
        case mount
        /// A manifest was deleted by digest, or the tag it carried was removed (the untag event).
        case delete
    }

    /// A content descriptor as the registry lists it in `references`.
    public struct Reference: Sendable, Hashable {
        /// The referenced content's media type, if given.
        public var mediaType: String?
        /// Its size in bytes, if given.
        public var size: Int64?
        /// Its digest.
        public var digest: String

        /// Describes a reference.
        public init(mediaType: String?, size: Int64?, digest: String) {
            self.mediaType = mediaType
            self.size = size
            self.digest = digest
        }
    }

    /// What the event is about.
    public struct Target: Sendable, Hashable {
        /// The content's media type (`application/octet-stream` for blobs), if given.
        public var mediaType: String?
        /// The content's size in bytes, if given.
        public var size: Int64?
        /// The content digest, if given (the untag event has none).
        public var digest: String?
        /// The content's length in bytes, if given (the same as `size` in registry 2.8).
        public var length: Int64?
        /// The full repository name (`namespace/name`).
        public var repository: String
        /// Where the content can be fetched, if given.
        public var url: String?
        /// The tag, for manifests pushed or pulled by tag and for the untag event.
        public var tag: String?
        /// The manifest's references, when the registry is configured to include them.
        public var references: [Reference]
        /// The source repository of a mount, if given.
        public var fromRepository: String?

        /// Describes a target.
        public init(
            mediaType: String? = nil, size: Int64? = nil, digest: String? = nil, length: Int64? = nil,
            repository: String, url: String? = nil, tag: String? = nil, references: [Reference] = [],
            fromRepository: String? = nil
        ) {
            self.mediaType = mediaType
            self.size = size
            self.digest = digest
            self.length = length
            self.repository = repository
            self.url = url
            self.tag = tag
            self.references = references
            self.fromRepository = fromRepository
        }

        /// Whether the target is a manifest of one of the four tracked media types.
        public var isManifest: Bool { mediaType.map(ManifestMediaType.isManifest) ?? false }
    }

    /// The HTTP request that caused the event.
    public struct Request: Sendable, Hashable {
        /// The registry's request id, if given.
        public var id: String?
        /// The client address, if given.
        public var address: String?
        /// The `Host` the client used, if given.
        public var host: String?
        /// The HTTP method, if given.
        public var method: String?
        /// The client's `User-Agent`, if given.
        public var userAgent: String?

        /// Describes a request.
        public init(
            id: String? = nil, address: String? = nil, host: String? = nil, method: String? = nil,
            userAgent: String? = nil
        ) {
            self.id = id
            self.address = address
            self.host = host
            self.method = method
            self.userAgent = userAgent
        }
    }

    /// The registry's event id (unique per registry; duplicates are redeliveries).
    public var id: String
    /// When the registry says it happened.
    public var timestamp: Date
    /// What happened.
    public var action: Action
    /// What it happened to.
    public var target: Target
    /// The request that caused it, if given.
    public var request: Request?
    /// The authenticated user (the token's `sub`), if any.
    public var actor: String?
    /// The registry instance's address, if given.
    public var sourceAddress: String?
    /// The registry instance's id, if given.
    public var sourceInstanceID: String?

    /// Describes an event.
    public init(
        id: String, timestamp: Date, action: Action, target: Target, request: Request? = nil, actor: String? = nil,
        sourceAddress: String? = nil, sourceInstanceID: String? = nil
    ) {
        self.id = id
        self.timestamp = timestamp
        self.action = action
        self.target = target
        self.request = request
        self.actor = actor
        self.sourceAddress = sourceAddress
        self.sourceInstanceID = sourceInstanceID
    }

    /// The longest event id accepted; registries send UUIDs.
    public static let maximumIDLength = 256

    /// Checks one event object (as stored by the endpoint) and types it; never traps on hostile input.
    public static func parse(_ payload: String) -> Result<RegistryNotification, NotificationError> {
        do {
            return parse(try JSONValue(parsing: Array(payload.utf8)))
        } catch {
            return .failure(NotificationError(.invalidJSON, error.reason))
        }
    }

    /// Checks one already-parsed event object and types it.
    public static func parse(_ event: JSONValue) -> Result<RegistryNotification, NotificationError> {
        Result { () throws(NotificationError) in try EventReader(event).read() }
    }
}

/// Why an envelope or one of its events was refused, with a stable code and a message naming the field.
public typealias NotificationError = CodedFailure<NotificationErrorCode>

/// The stable codes of a `NotificationError`.
public enum NotificationErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The body or the stored event is not JSON.
    case invalidJSON = "notification.invalid_json"
    /// The body is JSON but not `{"events": [...]}`.
    case notAnEnvelope = "notification.not_an_envelope"
    /// A required field is absent or null.
    case missingField = "notification.missing_field"
    /// A field has the wrong JSON type.
    case wrongType = "notification.wrong_type"
    /// A field has the right type but an unacceptable value.
    case invalidValue = "notification.invalid_value"
    /// The action is not one of push, pull, mount, delete.
    case unknownAction = "notification.unknown_action"
}

/// A notification body split into its events, each checked on its own so one bad event spoils no sibling.
public struct NotificationEnvelope: Sendable, Hashable {
    /// One element of the `events` array.
    public struct Entry: Sendable, Hashable {
        /// The element's `id` when it is a usable string, even if the rest of the event is refused, so the
        /// event can still be stored (and de-duplicated) under it.
        public var id: String?
        /// The element as compact JSON with sorted keys: what is stored.
        public var payload: String
        /// The typed event, or why it was refused.
        public var result: Result<RegistryNotification, NotificationError>
    }

    /// The events in the order the registry sent them.
    public var entries: [Entry]

    /// Splits a body into its events; throws only when the body as a whole is not an envelope.
    public static func parse(_ body: some Collection<UInt8>) throws(NotificationError) -> NotificationEnvelope {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: body)
        } catch {
            throw NotificationError(.invalidJSON, "the body is not JSON (\(error.reason))")
        }
        guard case .object = document else {
            throw NotificationError(.notAnEnvelope, "the body is \(document.typeName), not an object with \"events\"")
        }
        guard let events = document["events"] else {
            throw NotificationError(.notAnEnvelope, "the body has no \"events\" member")
        }
        guard case .array(let elements) = events else {
            throw NotificationError(.notAnEnvelope, "\"events\" is \(events.typeName), not an array")
        }
        return NotificationEnvelope(
            entries: elements.map { element in
                var id: String?
                if case .string(let value) = element["id"], !value.isEmpty,
                    value.utf8.count <= RegistryNotification.maximumIDLength
                {
                    id = value
                }
                return Entry(id: id, payload: element.jsonText, result: RegistryNotification.parse(element))
            })
    }
}

/// Reads one event object field by field; each accessor names the field path in its error.
private struct EventReader {
    let event: JSONValue

    init(_ event: JSONValue) { self.event = event }

    func read() throws(NotificationError) -> RegistryNotification {
        guard case .object = event else {
            throw NotificationError(.wrongType, "the event is \(event.typeName), not an object")
        }
        let id = try requiredString(event, "id")
        guard id.utf8.count <= RegistryNotification.maximumIDLength else {
            throw NotificationError(
                .invalidValue, "id is longer than \(RegistryNotification.maximumIDLength) bytes")
        }
        let timestampText = try requiredString(event, "timestamp")
        guard let timestamp = RFC3339.date(from: timestampText) else {
            throw NotificationError(
                .invalidValue, "timestamp \(Self.quote(timestampText)) is not an RFC 3339 date-time")
        }
        let actionText = try requiredString(event, "action")
        guard let action = RegistryNotification.Action(rawValue: actionText) else {
            throw NotificationError(
                .unknownAction, "action \(Self.quote(actionText)) is not push, pull, mount or delete")
        }
        let target = try readTarget(try requiredObject(event, "target"))
        try check(action, target)
        var request: RegistryNotification.Request?
        if let value = try optionalObject(event, "request") {
            request = RegistryNotification.Request(
                id: try optionalString(value, "request.id", key: "id"),
                address: try optionalString(value, "request.addr", key: "addr"),
                host: try optionalString(value, "request.host", key: "host"),
                method: try optionalString(value, "request.method", key: "method"),
                userAgent: try optionalString(value, "request.useragent", key: "useragent"))
        }
        var actor: String?
        if let value = try optionalObject(event, "actor") {
            actor = try optionalString(value, "actor.name", key: "name").flatMap { $0.isEmpty ? nil : $0 }
        }
        var sourceAddress: String?
        var sourceInstanceID: String?
        if let value = try optionalObject(event, "source") {
            sourceAddress = try optionalString(value, "source.addr", key: "addr")
            sourceInstanceID = try optionalString(value, "source.instanceID", key: "instanceID")
        }
        return RegistryNotification(
            id: id, timestamp: timestamp, action: action, target: target, request: request, actor: actor,
            sourceAddress: sourceAddress, sourceInstanceID: sourceInstanceID)
    }

    private func readTarget(_ target: JSONValue) throws(NotificationError) -> RegistryNotification.Target {
        let repository = try requiredString(target, "target.repository", key: "repository")
        guard RepositoryName.isValid(repository) else {
            throw NotificationError(
                .invalidValue, "target.repository \(Self.quote(repository)) is not a valid repository name")
        }
        let digest = try optionalString(target, "target.digest", key: "digest")
        if let digest, !ContentDigest.isValid(digest) {
            throw NotificationError(.invalidValue, "target.digest \(Self.quote(digest)) is not a valid digest")
        }
        let tag = try optionalString(target, "target.tag", key: "tag")
        if let tag, !TagName.isValid(tag) {
            throw NotificationError(.invalidValue, "target.tag \(Self.quote(tag)) is not a valid tag")
        }
        var references: [RegistryNotification.Reference] = []
        if let value = target["references"], value != .null {
            guard case .array(let elements) = value else {
                throw NotificationError(.wrongType, "target.references is \(value.typeName), not an array")
            }
            for (index, element) in elements.enumerated() {
                let path = "target.references[\(index)]"
                guard case .object = element else {
                    throw NotificationError(.wrongType, "\(path) is \(element.typeName), not an object")
                }
                let referenceDigest = try requiredString(element, "\(path).digest", key: "digest")
                guard ContentDigest.isValid(referenceDigest) else {
                    throw NotificationError(.invalidValue, "\(path).digest is not a valid digest")
                }
                references.append(
                    RegistryNotification.Reference(
                        mediaType: try optionalString(element, "\(path).mediaType", key: "mediaType"),
                        size: try optionalSize(element, "\(path).size", key: "size"), digest: referenceDigest))
            }
        }
        return RegistryNotification.Target(
            mediaType: try optionalString(target, "target.mediaType", key: "mediaType"),
            size: try optionalSize(target, "target.size", key: "size"), digest: digest,
            length: try optionalSize(target, "target.length", key: "length"), repository: repository,
            url: try optionalString(target, "target.url", key: "url"), tag: tag, references: references,
            fromRepository: try optionalString(target, "target.fromRepository", key: "fromRepository"))
    }

    /// The fields each action needs before the worker can act on it.
    private func check(_ action: RegistryNotification.Action, _ target: RegistryNotification.Target)
        throws(NotificationError)
    {
        switch action {
        case .push:
            guard target.digest != nil else { throw NotificationError(.missingField, "a push has no target.digest") }
        case .pull:
            guard target.digest != nil || target.tag != nil else {
                throw NotificationError(.missingField, "a pull has neither target.digest nor target.tag")
            }
        case .delete:
            guard target.digest != nil || target.tag != nil else {
                throw NotificationError(.missingField, "a delete has neither target.digest nor target.tag")
            }
        case .mount:
            break
        }
    }

    // MARK: Field accessors

    private func requiredString(_ object: JSONValue, _ path: String, key: String? = nil) throws(NotificationError)
        -> String
    {
        guard let value = try optionalString(object, path, key: key) else {
            throw NotificationError(.missingField, "\(path) is missing")
        }
        guard !value.isEmpty else { throw NotificationError(.invalidValue, "\(path) is empty") }
        return value
    }

    private func optionalString(_ object: JSONValue, _ path: String, key: String? = nil) throws(NotificationError)
        -> String?
    {
        switch object[key ?? path] {
        case nil, .null: return nil
        case .string(let value): return value
        case let other?: throw NotificationError(.wrongType, "\(path) is \(other.typeName), not a string")
        }
    }

    private func requiredObject(_ object: JSONValue, _ path: String) throws(NotificationError) -> JSONValue {
        guard let value = try optionalObject(object, path) else {
            throw NotificationError(.missingField, "\(path) is missing")
        }
        return value
    }

    private func optionalObject(_ object: JSONValue, _ path: String) throws(NotificationError) -> JSONValue? {
        switch object[path] {
        case nil, .null: return nil
        case let value? where { if case .object = value { true } else { false } }(): return value
        case let other?: throw NotificationError(.wrongType, "\(path) is \(other.typeName), not an object")
        }
    }

    private func optionalSize(_ object: JSONValue, _ path: String, key: String) throws(NotificationError) -> Int64? {
        switch object[key] {
        case nil, .null: return nil
        case .integer(let value) where value >= 0: return value
        case .integer, .number: throw NotificationError(.invalidValue, "\(path) is not a non-negative integer")
        case let other?: throw NotificationError(.wrongType, "\(path) is \(other.typeName), not a number")
        }
    }

    /// A short, printable excerpt of hostile text for a message (log lines must stay one line).
    static func quote(_ text: String) -> String {
        let printable = text.unicodeScalars.prefix(80).map { scalar in
            scalar.properties.generalCategory == .control ? "?" : String(scalar)
        }.joined()
        return "\"\(printable)\(text.unicodeScalars.count > 80 ? "…" : "")\""
    }
}

/// The registry's grammar for repository names (distribution `reference` package), checked without regexes.
public enum RepositoryName {
    /// Whether `name` is a repository name the registry could have sent: lowercase path components of
    /// `[a-z0-9]` joined by `.`, `_`, `__` or runs of `-`, separated by `/`, at most 255 bytes.
    /// Splits a full repository name into its namespace (the first component; nil for a one-component name,
    /// which lives in the global namespace) and the name inside it: `alice/demo` → `alice`, `demo`.
    public static func split(_ fullName: String) -> (namespace: String?, name: String) {
        guard let slash = fullName.firstIndex(of: "/") else { return (nil, fullName) }
        return (String(fullName[..<slash]), String(fullName[fullName.index(after: slash)...]))
    }

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        return bytes.split(separator: 0x2F, omittingEmptySubsequences: false).allSatisfy(isValidComponent)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
    }

    private static func isValidComponent(_ component: ArraySlice<UInt8>) -> Bool {
        guard let first = component.first, let last = component.last, isAlphanumeric(first), isAlphanumeric(last)
        else { return false }
        var separator: [UInt8] = []
        for byte in component {
            if isAlphanumeric(byte) {
                guard separator.isEmpty || isAllowedSeparator(separator) else { return false }
                separator.removeAll()
            } else if byte == 0x2E || byte == 0x5F || byte == 0x2D {
                separator.append(byte)
            } else {
                return false
            }
        }
        return true
    }

    private static func isAllowedSeparator(_ separator: [UInt8]) -> Bool {
        separator == [0x2E] || separator == [0x5F] || separator == [0x5F, 0x5F] || separator.allSatisfy { $0 == 0x2D }
    }
}

/// The registry's grammar for tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
public enum TagName {
    /// Whether `tag` is a tag the registry could have sent.
    public static func isValid(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWordByte(first) else { return false }
        return bytes.allSatisfy { isWordByte($0) || $0 == 0x2E || $0 == 0x2D }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F
    }
}

/// Content digests `algorithm:encoded` as the OCI spec defines them.
public enum ContentDigest {
    /// Whether `digest` is well formed: a lowercase algorithm (`[a-z0-9]+([+._-][a-z0-9]+)*`), a colon, and an
    /// encoded part of `[a-zA-Z0-9=_-]+`; `sha256` must be 64 lowercase hex digits. At most 256 bytes.
    public static func isValid(_ digest: String) -> Bool {
        let bytes = Array(digest.utf8)
        guard bytes.count <= 256, let colon = bytes.firstIndex(of: 0x3A) else { return false }
        let algorithm = bytes[..<colon]
        let encoded = bytes[(colon + 1)...]
        guard !algorithm.isEmpty, !encoded.isEmpty else { return false }
        let lowerAlnum: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
        let algorithmSeparators: Set<UInt8> = [0x2B, 0x2E, 0x5F, 0x2D]
        guard let firstAlgorithmByte = algorithm.first, let lastAlgorithmByte = algorithm.last,
            lowerAlnum(firstAlgorithmByte), lowerAlnum(lastAlgorithmByte),
            algorithm.allSatisfy({ lowerAlnum($0) || algorithmSeparators.contains($0) })
        else { return false }
        let isHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        if algorithm.elementsEqual("sha256".utf8) { return encoded.count == 64 && encoded.allSatisfy(isHex) }
        if algorithm.elementsEqual("sha512".utf8) { return encoded.count == 128 && encoded.allSatisfy(isHex) }
        return encoded.allSatisfy {
            (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0)
                || $0 == 0x3D || $0 == 0x5F || $0 == 0x2D
        }
    }
}
