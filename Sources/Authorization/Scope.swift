/// The registry actions a token can grant, as the registry spells them.
public enum RegistryAction {
    /// Read manifests and blobs (`GET`/`HEAD`).
    public static let pull = "pull"
    /// Upload blobs and manifests (`POST`/`PUT`/`PATCH`; the registry also wants `pull` for these).
    public static let push = "push"
    /// Delete manifests, tags and blobs (registry 2.7 and later).
    public static let delete = "delete"
    /// The wildcard: the registry lets it match *every* action, and wants it for `registry:catalog:*`.
    public static let all = "*"

    /// Every action the policy knows; anything else is granted nothing.
    public static let known: Set<String> = [pull, push, delete, all]

    /// The order actions are listed in rendered scopes: pull, push, delete, `*`, then any others
    /// alphabetically.
    public static func renderingOrder(_ lhs: String, _ rhs: String) -> Bool {
        let rank = { (action: String) -> Int in
            switch action {
            case pull: 0
            case push: 1
            case delete: 2
            case all: 3
            default: 4
            }
        }
        let (left, right) = (rank(lhs), rank(rhs))
        return left != right ? left < right : lhs < rhs
    }
}

/// One resource a client asks access to (`repository:alice/demo:pull,push`) or a token grants.
///
/// A resource class (`repository(plugin)`) is not kept: the registry ignores it and so does the
/// policy.
public struct ResourceScope: Hashable, Sendable, CustomStringConvertible {
    /// The resource type of image repositories.
    public static let repositoryType = "repository"
    /// The resource type of registry-wide resources (only `registry:catalog:*` is ever granted).
    public static let registryType = "registry"

    /// The resource type: `repository`, `registry`, or something unknown (granted nothing).
    public var type: String
    /// The resource name: a repository path (`alice/demo`, `busybox`) or `catalog`.
    public var name: String
    /// The actions asked for or granted (`pull`, `push`, `delete`, `*`, or unknown ones).
    public var actions: Set<String>

    /// Creates a scope.
    public init(type: String, name: String, actions: Set<String>) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// A repository scope.
    public static func repository(_ name: String, _ actions: Set<String>) -> ResourceScope {
        ResourceScope(type: repositoryType, name: name, actions: actions)
    }

    /// The registry catalog scope, `registry:catalog:*`.
    public static let catalog = ResourceScope(type: registryType, name: "catalog", actions: [RegistryAction.all])

    /// The namespace a repository name lives in: its first path component when there are several,
    /// or nil for a one-component name, which lives in the global namespace (Portus: `busybox` is
    /// global, `alice/demo` is in `alice`, `a/b/c` is in `a`).
    public var namespaceName: String? {
        guard let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        return String(name[..<slash])
    }

    /// The repository name inside its namespace: `demo` for `alice/demo`, `b/c` for `a/b/c`,
    /// `busybox` for `busybox`.
    public var nameInNamespace: String {
        guard let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) else { return name }
        return String(name[name.utf8.index(after: slash)...])
    }

    /// The scope as the registry protocol writes it, actions in a fixed order:
    /// `repository:alice/demo:pull,push`.
    public func render() -> String {
        "\(type):\(name):\(actions.sorted(by: RegistryAction.renderingOrder).joined(separator: ","))"
    }

    /// Several scopes as one space-separated string (the token response's `scope` field), leaving
    /// out scopes with no actions.
    public static func render(_ scopes: [ResourceScope]) -> String {
        scopes.filter { !$0.actions.isEmpty }.map { $0.render() }.joined(separator: " ")
    }

    /// The rendered scope.
    public var description: String { render() }
}

/// A scope the parser refused, with why. `text` is safe to echo in an error body: it is cut to
/// `ScopeParser.maximumEchoedLength` characters and anything but printable ASCII is replaced by `?`.
public struct ScopeProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a scope does not parse.
    public enum Reason: String, Sendable, Hashable {
        /// Fewer than three `:`-separated parts (`whale:foo`).
        case missingParts = "missing-parts"
        /// The type is not `[a-z0-9]+` with an optional `([a-z0-9]+)` class.
        case invalidType = "invalid-type"
        /// The name is not a valid repository path (distribution spec).
        case invalidName = "invalid-name"
        /// An action is neither `*` nor `[a-z]+`.
        case invalidAction = "invalid-action"
        /// The scope is longer than `ScopeParser.maximumScopeLength` bytes.
        case tooLong = "too-long"
    }

    /// The offending scope, sanitized for echoing.
    public var text: String
    /// Why it was refused.
    public var reason: Reason

    /// Creates a problem report.
    public init(text: String, reason: Reason) {
        self.text = text
        self.reason = reason
    }

    /// A sentence naming the scope and the reason, for a 400 body.
    public var message: String {
        switch reason {
        case .missingParts: "scope '\(text)' is not of the form type:name:actions"
        case .invalidType: "scope '\(text)' has an invalid resource type"
        case .invalidName: "scope '\(text)' has an invalid repository name"
        case .invalidAction: "scope '\(text)' has an invalid action"
        case .tooLong: "scope '\(text)' is too long"
        }
    }

    /// The message.
    public var description: String { message }
}

/// What `ScopeParser.parse` made of the `scope` parameters.
public struct ScopeParseResult: Sendable, Hashable {
    /// The scopes that parsed, merged by (type, name) in order of first appearance.
    public var scopes: [ResourceScope]
    /// The scopes that did not parse, in order of appearance.
    public var problems: [ScopeProblem]
    /// How many scopes were not even looked at because `ScopeParser.maximumScopeCount` was reached.
    public var ignoredCount: Int

    /// Creates a result.
    public init(scopes: [ResourceScope] = [], problems: [ScopeProblem] = [], ignoredCount: Int = 0) {
        self.scopes = scopes
        self.problems = problems
        self.ignoredCount = ignoredCount
    }

    /// The sanitized text of every scope that did not parse.
    public var malformed: [String] { problems.map(\.text) }
}

/// Parses the `scope` parameters of a token request.
///
/// Rules (registry-protocol.md, Portcullis departure 2):
/// - each value may hold several scopes separated by spaces (docker's POST flow joins them; GET
///   clients repeat the parameter); empty pieces are skipped;
/// - a scope is `type:name:actions`, the type running to the **first** `:` and the actions from
///   the **last** `:`, so a name can never swallow the actions;
/// - a class (`repository(plugin)`) is dropped;
/// - actions are split on `,`, empty ones skipped; each must be `*` or `[a-z]+`; unknown actions
///   (`fork`) and unknown types (`whale`) still parse, the policy just grants them nothing;
/// - the name must be a valid repository path (`[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
///   components separated by `/`, at most 255 characters), whatever the type;
/// - the same (type, name) asked twice becomes one scope with the union of the actions;
/// - a scope that breaks these rules is reported in `problems` and never affects the others.
public enum ScopeParser {
    /// The longest scope, in bytes, looked at; longer ones are reported as `.tooLong`.
    public static let maximumScopeLength = 1024
    /// How many scopes (before merging) one request may carry; the rest are counted, not parsed.
    public static let maximumScopeCount = 128
    /// The longest repository name (distribution spec).
    public static let maximumNameLength = 255
    /// How much of a malformed scope is echoed back.
    public static let maximumEchoedLength = 100

    /// Parses every `scope` parameter value of one request.
    public static func parse(_ values: [String]) -> ScopeParseResult {
        var result = ScopeParseResult()
        var indexByResource: [ResourceKey: Int] = [:]
        var seen = 0
        for value in values {
            for piece in value.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true) {
                seen += 1
                guard seen <= maximumScopeCount else {
                    result.ignoredCount += 1
                    continue
                }
                switch parsePiece(piece) {
                case .scope(let scope):
                    let key = ResourceKey(type: scope.type, name: scope.name)
                    if let index = indexByResource[key] {
                        result.scopes[index].actions.formUnion(scope.actions)
                    } else {
                        indexByResource[key] = result.scopes.count
                        result.scopes.append(scope)
                    }
                case .problem(let reason):
                    result.problems.append(ScopeProblem(text: sanitized(piece), reason: reason))
                }
            }
        }
        return result
    }

    /// Parses a single scope (no spaces): the scope, or why it does not parse.
    public static func parseOne(_ text: String) -> Result<ResourceScope, ScopeProblem> {
        let bytes = Substring(text).utf8
        switch parsePiece(bytes) {
        case .scope(let scope): return .success(scope)
        case .problem(let reason): return .failure(ScopeProblem(text: sanitized(bytes), reason: reason))
        }
    }

    /// Whether `name` is a valid repository name by the distribution spec: lower-case components
    /// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*` joined by single `/`, at most 255 bytes.
    public static func isValidRepositoryName(_ name: String) -> Bool {
        isValidRepositoryName(Substring(name).utf8)
    }

    // MARK: - Implementation

    private struct ResourceKey: Hashable {
        var type: String
        var name: String
    }

    private enum Parsed {
        case scope(ResourceScope)
        case problem(ScopeProblem.Reason)
    }

    private static func parsePiece(_ bytes: Substring.UTF8View) -> Parsed {
        guard bytes.count <= maximumScopeLength else { return .problem(.tooLong) }
        let colon = UInt8(ascii: ":")
        guard let firstColon = bytes.firstIndex(of: colon), let lastColon = bytes.lastIndex(of: colon),
            firstColon != lastColon
        else { return .problem(.missingParts) }
        guard let type = resourceType(bytes[..<firstColon]) else { return .problem(.invalidType) }
        let name = bytes[bytes.index(after: firstColon)..<lastColon]
        guard isValidRepositoryName(name) else { return .problem(.invalidName) }
        var actions: Set<String> = []
        for action in bytes[bytes.index(after: lastColon)...].split(separator: UInt8(ascii: ",")) {
            guard isValidAction(action) else { return .problem(.invalidAction) }
            actions.insert(String(decoding: action, as: UTF8.self))
        }
        return .scope(ResourceScope(type: type, name: String(decoding: name, as: UTF8.self), actions: actions))
    }

    /// The type without its class, or nil when it is not `[a-z0-9]+` optionally followed by
    /// `([a-z0-9]+)`.
    private static func resourceType(_ bytes: Substring.UTF8View) -> String? {
        var base = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "(")) {
            let afterOpen = bytes.index(after: open)
            guard bytes.last == UInt8(ascii: ")"), afterOpen < bytes.endIndex else { return nil }
            let resourceClass = bytes[afterOpen..<bytes.index(before: bytes.endIndex)]
            guard !resourceClass.isEmpty, resourceClass.allSatisfy(isLowerAlphanumeric) else { return nil }
            base = bytes[..<open]
        }
        guard !base.isEmpty, base.allSatisfy(isLowerAlphanumeric) else { return nil }
        return String(decoding: base, as: UTF8.self)
    }

    private static func isValidAction(_ bytes: Substring.UTF8View) -> Bool {
        if bytes.elementsEqual(RegistryAction.all.utf8) { return true }
        return !bytes.isEmpty && bytes.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
    }

    private static func isValidRepositoryName(_ bytes: Substring.UTF8View) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumNameLength else { return false }
        return bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .allSatisfy(isValidPathComponent)
    }

    /// One path component: runs of `[a-z0-9]` joined by `.`, `_`, `__` or any number of `-`.
    private static func isValidPathComponent(_ bytes: Substring.UTF8View) -> Bool {
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        var separator: [UInt8] = []
        for byte in bytes {
            if isLowerAlphanumeric(byte) {
                guard isAllowedSeparator(separator) else { return false }
                separator.removeAll(keepingCapacity: true)
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                separator.append(byte)
                // No allowed separator is longer than two bytes except runs of dashes.
                if separator.count > 2 && separator.contains(where: { $0 != UInt8(ascii: "-") }) { return false }
            } else {
                return false
            }
        }
        return true
    }

    private static func isAllowedSeparator(_ separator: [UInt8]) -> Bool {
        switch separator {
        case [], [UInt8(ascii: ".")], [UInt8(ascii: "_")], [UInt8(ascii: "_"), UInt8(ascii: "_")]: true
        default: separator.allSatisfy { $0 == UInt8(ascii: "-") }
        }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// The scope cut to `maximumEchoedLength` bytes with every byte outside printable ASCII
    /// replaced by `?`, so an error body never carries control characters or broken UTF-8.
    private static func sanitized(_ bytes: Substring.UTF8View) -> String {
        var out = bytes.prefix(maximumEchoedLength).map { byte -> UInt8 in
            (0x20...0x7E).contains(byte) ? byte : UInt8(ascii: "?")
        }
        if bytes.count > maximumEchoedLength { out.append(contentsOf: "...".utf8) }
        return String(decoding: out, as: UTF8.self)
    }
}
