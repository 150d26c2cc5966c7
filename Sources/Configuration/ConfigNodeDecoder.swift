import Diagnostics
import Foundation

/// Decodes a ``ConfigNode`` (a provider's `config` block) into a plugin's `Decodable` configuration
/// type, as strictly as the core configuration: unknown keys, wrong types and missing keys become
/// ``ConfigIssue``s naming `file:line:column`, with suggestions for misspelt keys.
///
/// Besides the standard types it reads `Secret` (`{file: PATH}` or `{env: NAME}` only), `URL`
/// (absolute), `Duration` (`300`, `"5m"`, `"250ms"`) and `ConfigNode` (kept as written). Swift's
/// synthesized `init(from:)` stops at the first type error; to report every problem at once, the decoder
/// sets the offending value aside and decodes again (a bounded number of times), so a block with a
/// misspelt key, a wrong type and an inline secret reports all three.
public struct ConfigNodeDecoder: Sendable {
    /// How many problems one block reports at most (each costs one more decoding pass).
    static let maximumPasses = 32

    /// Creates a decoder.
    public init() {}

    /// Decodes `type` from `node`; `keyPath` (`providers[1].config`) prefixes the key paths in issues.
    ///
    /// - Throws: ``ConfigurationError`` with the located problems.
    public func decode<T: Decodable>(
        _ type: T.Type,
        from node: ConfigNode,
        keyPath: String = ""
    ) throws(ConfigurationError) -> T {
        var current = node
        var issues: [ConfigIssue] = []
        var setAside: Set<String> = []
        for _ in 0..<Self.maximumPasses {
            switch decodeOnce(type, from: current, keyPath: keyPath) {
            case .success(let value):
                if issues.isEmpty { return value }
                throw ConfigurationError(issues)
            case .failure(let error):
                // A required value set aside on an earlier pass now reads as missing: not a new problem.
                let fresh = error.issues.filter { !($0.code == .missingKey && setAside.contains($0.keyPath)) }
                issues += fresh.filter { !issues.contains($0) }
                var progressed = false
                for issue in error.issues where !setAside.contains(issue.keyPath) {
                    guard let relative = ConfigPathStep.parse(issue.keyPath, under: keyPath),
                        let pruned = current.removing(relative)
                    else { continue }
                    current = pruned
                    setAside.insert(issue.keyPath)
                    progressed = true
                }
                if !progressed || fresh.isEmpty { throw ConfigurationError(issues) }
            }
        }
        throw ConfigurationError(issues)
    }

    /// One decoding pass: the value, or the problem that stopped it (with unknown keys when it did not stop).
    private func decodeOnce<T: Decodable>(
        _ type: T.Type, from node: ConfigNode, keyPath: String
    ) -> Result<T, ConfigurationError> {
        let context = NodeDecodingContext(root: node, keyPath: keyPath)
        let value: T
        do {
            value = try context.decodeValue(T.self, from: node, codingPath: [])
        } catch let failure as NodeDecodingFailure {
            return .failure(ConfigurationError(failure.issue))
        } catch let error as DecodingError {
            return .failure(ConfigurationError(context.issues(for: error)))
        } catch {
            return .failure(
                ConfigurationError(
                    ConfigIssue(.invalidValue, at: node.location, keyPath: keyPath, message: String(describing: error))
                ))
        }
        let unknown = context.unknownKeys()
        if !unknown.isEmpty { return .failure(ConfigurationError(unknown)) }
        return .success(value)
    }
}

extension ProviderSettings {
    /// Decodes this provider's `config` block into the provider type's configuration.
    ///
    /// - Throws: ``ConfigurationError`` naming `file:line:column` and `providers[i].config.…` paths.
    public func decodeConfig<T: Decodable>(as type: T.Type) throws(ConfigurationError) -> T {
        try ConfigNodeDecoder().decode(type, from: config, keyPath: keyPath + ".config")
    }
}

/// A located problem thrown through Swift's decoding machinery.
private struct NodeDecodingFailure: Error {
    let issue: ConfigIssue
}

/// Shared state of one decode: the root, the key-path prefix, and which keys each mapping was asked for.
private final class NodeDecodingContext {
    let root: ConfigNode
    let keyPath: String
    /// Visited mappings, by key path, with the keys the decoded type asked for.
    var requested: [String: (node: ConfigNode, keys: Set<String>)] = [:]
    var order: [String] = []

    init(root: ConfigNode, keyPath: String) {
        self.root = root
        self.keyPath = keyPath
    }

    func path(_ codingPath: [any CodingKey]) -> String {
        var result = keyPath
        for key in codingPath {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == String(index) {
                result += "[\(index)]"
            } else {
                result = join(result, key.stringValue)
            }
        }
        return result
    }

    func failure(
        _ code: ConfigIssue.Code,
        _ node: ConfigNode,
        _ codingPath: [any CodingKey],
        _ message: String
    ) -> NodeDecodingFailure {
        NodeDecodingFailure(issue: ConfigIssue(code, at: node.location, keyPath: path(codingPath), message: message))
    }

    func noteMapping(_ node: ConfigNode, codingPath: [any CodingKey]) {
        let key = path(codingPath)
        if requested[key] == nil {
            requested[key] = (node, [])
            order.append(key)
        }
    }

    func noteRequested(_ name: String, codingPath: [any CodingKey]) {
        requested[path(codingPath)]?.keys.insert(name)
    }

    /// Keys present in a visited mapping that the decoded type never asked for.
    func unknownKeys() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for key in order {
            guard let (node, asked) = requested[key], let entries = node.entries else { continue }
            for entry in entries where !asked.contains(entry.key) {
                issues.append(
                    ConfigIssue(
                        .unknownKey,
                        at: entry.keyLocation,
                        keyPath: join(key, entry.key),
                        message: "unknown key" + Suggestion.hint(for: entry.key, in: asked.sorted())
                    )
                )
            }
        }
        return issues
    }

    /// Locates a `DecodingError` thrown by a hand-written `init(from:)` at the node its path names; a
    /// plugin's "unknown keys a, b (known: …)" becomes one issue per key, at the key itself.
    func issues(for error: DecodingError) -> [ConfigIssue] {
        let issue = issue(for: error)
        guard case .dataCorrupted = error, let entries = node(at: issue.keyPath)?.entries,
            let (unknown, known) = Self.unknownKeys(in: issue.message)
        else { return [issue] }
        let located = entries.filter { unknown.contains($0.key) }.map { entry in
            ConfigIssue(
                .unknownKey, at: entry.keyLocation, keyPath: join(issue.keyPath, entry.key),
                message: "unknown key" + Suggestion.hint(for: entry.key, in: known))
        }
        return located.isEmpty ? [issue] : located
    }

    /// The node at `keyPath` (which starts with this decode's prefix), if it can be found.
    private func node(at keyPath: String) -> ConfigNode? {
        guard keyPath.hasPrefix(self.keyPath) else { return nil }
        var node = root
        for component in keyPath.dropFirst(self.keyPath.count).split(separator: ".") {
            guard let next = node.entries?.first(where: { $0.key == component })?.value else { return nil }
            node = next
        }
        return node
    }

    /// The names in a plugin's "unknown key(s) a, b (known: c, d)" message.
    private static func unknownKeys(in message: String) -> (unknown: Set<String>, known: [String])? {
        guard message.hasPrefix("unknown key"), let open = message.range(of: " (known: "), message.hasSuffix(")")
        else { return nil }
        let names = message[message.index(message.startIndex, offsetBy: "unknown key".count)..<open.lowerBound]
            .drop { $0 == "s" }.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let known = message[open.upperBound..<message.index(before: message.endIndex)].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        return (Set(names), known)
    }

    func issue(for error: DecodingError) -> ConfigIssue {
        let (code, context): (ConfigIssue.Code, DecodingError.Context)
        switch error {
        case .typeMismatch(_, let c): (code, context) = (.wrongType, c)
        case .valueNotFound(_, let c): (code, context) = (.wrongType, c)
        case .keyNotFound(_, let c): (code, context) = (.missingKey, c)
        case .dataCorrupted(let c): (code, context) = (.invalidValue, c)
        @unknown default: return ConfigIssue(.invalidValue, at: root.location, keyPath: keyPath, message: "\(error)")
        }
        var node = root
        for key in context.codingPath {
            if let entries = node.entries, let entry = entries.first(where: { $0.key == key.stringValue }) {
                node = entry.value
            } else if let items = node.items, let index = key.intValue, items.indices.contains(index) {
                node = items[index]
            }
        }
        return ConfigIssue(
            code,
            at: node.location,
            keyPath: path(context.codingPath),
            message: context.debugDescription
        )
    }

    // MARK: Values

    func decodeValue<T: Decodable>(_ type: T.Type, from node: ConfigNode, codingPath: [any CodingKey]) throws -> T {
        let path = self.path(codingPath)
        if T.self == ConfigNode.self { return node as! T }
        if T.self == Secret.self { return try special(ValueType<Secret>.secret, node, path) as! T }
        if T.self == Duration.self {
            return try special(.duration(.zero...(.seconds(100_000_000))), node, path) as! T
        }
        if T.self == URL.self {
            return try special(
                ValueType<URL>.scalar("URL", render: { .string($0.absoluteString) }) { text, _ in
                    guard let url = URL(string: text), url.scheme != nil else {
                        return .failure(.invalid("'\(text)' is not an absolute URL"))
                    }
                    return .success(url)
                },
                node,
                path
            ) as! T
        }
        return try T(from: NodeDecoder(node: node, codingPath: codingPath, context: self))
    }

    private func special<V>(_ type: ValueType<V>, _ node: ConfigNode, _ path: String) throws -> V {
        var log = IssueLog()
        guard let value = type.decode(node, path, &log) else {
            throw NodeDecodingFailure(
                issue: log.issues.first
                    ?? ConfigIssue(.invalidValue, at: node.location, keyPath: path, message: "invalid value")
            )
        }
        return value
    }

    func scalar(
        _ node: ConfigNode,
        _ codingPath: [any CodingKey],
        expected: String
    ) throws -> (String, ConfigNode.ScalarStyle) {
        guard case .scalar(let text, let style) = node.kind, !node.isNull else {
            throw failure(.wrongType, node, codingPath, "expected \(expected), got \(node.shapeName)")
        }
        return (text, style)
    }

    func string(_ node: ConfigNode, _ codingPath: [any CodingKey]) throws -> String {
        try scalar(node, codingPath, expected: "a string").0
    }

    func bool(_ node: ConfigNode, _ codingPath: [any CodingKey]) throws -> Bool {
        var log = IssueLog()
        guard let value = ValueType<Bool>.boolean.decode(node, path(codingPath), &log) else {
            throw NodeDecodingFailure(issue: log.issues[0])
        }
        return value
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, _ node: ConfigNode, _ codingPath: [any CodingKey]) throws -> T {
        let (text, style) = try scalar(node, codingPath, expected: "an integer")
        guard style == .plain else {
            throw failure(
                .wrongType,
                node,
                codingPath,
                "expected an integer, got the string \(YAMLRenderer.quoted(text))"
            )
        }
        guard let value = T(text) else {
            if Int64(text) != nil || text.allSatisfy({ $0.isNumber || $0 == "-" }) {
                throw failure(.invalidValue, node, codingPath, "\(text) is out of range \(T.min)...\(T.max)")
            }
            throw failure(.wrongType, node, codingPath, "expected an integer, got '\(text)'")
        }
        return value
    }

    func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: T.Type,
        _ node: ConfigNode,
        _ codingPath: [any CodingKey]
    ) throws -> T {
        let (text, style) = try scalar(node, codingPath, expected: "a number")
        guard style == .plain, let value = T(text), value.isFinite else {
            throw failure(.wrongType, node, codingPath, "expected a number, got \(node.shapeName)")
        }
        return value
    }
}

/// An integer-indexed coding key for list items.
private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "Index \(index)"
    }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { nil }
}

/// The `Decoder` over one node.
private struct NodeDecoder: Decoder {
    let node: ConfigNode
    let codingPath: [any CodingKey]
    let context: NodeDecodingContext
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = node.entriesOrEmpty else {
            throw context.failure(.wrongType, node, codingPath, "expected a mapping, got \(node.shapeName)")
        }
        let mapping = ConfigNode(.mapping(entries), at: node.location)
        context.noteMapping(mapping, codingPath: codingPath)
        return KeyedDecodingContainer(
            KeyedNodeContainer<Key>(node: mapping, entries: entries, codingPath: codingPath, context: context)
        )
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if node.isNull { return UnkeyedNodeContainer(items: [], codingPath: codingPath, context: context) }
        guard let items = node.items else {
            throw context.failure(.wrongType, node, codingPath, "expected a list, got \(node.shapeName)")
        }
        return UnkeyedNodeContainer(items: items, codingPath: codingPath, context: context)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath, context: context)
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: ConfigNode
    let entries: [ConfigNode.Entry]
    let codingPath: [any CodingKey]
    let context: NodeDecodingContext

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    private func value(_ key: Key) throws -> ConfigNode {
        context.noteRequested(key.stringValue, codingPath: codingPath)
        guard let entry = entries.first(where: { $0.key == key.stringValue }) else {
            throw NodeDecodingFailure(
                issue: ConfigIssue(
                    .missingKey,
                    at: node.location,
                    keyPath: context.path(codingPath + [key]),
                    message: "missing required key '\(key.stringValue)'"
                )
            )
        }
        return entry.value
    }

    func contains(_ key: Key) -> Bool {
        context.noteRequested(key.stringValue, codingPath: codingPath)
        return entries.contains { $0.key == key.stringValue }
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        context.noteRequested(key.stringValue, codingPath: codingPath)
        return entries.first { $0.key == key.stringValue }?.value.isNull ?? true
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try context.bool(value(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try context.string(value(key), codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try context.floatingPoint(type, value(key), codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try context.floatingPoint(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try context.integer(type, value(key), codingPath + [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try context.decodeValue(type, from: value(key), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: value(key), codingPath: codingPath + [key], context: context).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: value(key), codingPath: codingPath + [key], context: context).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        NodeDecoder(node: node, codingPath: codingPath, context: context)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        context.noteRequested(key.stringValue, codingPath: codingPath)
        let child =
            entries.first { $0.key == key.stringValue }?.value ?? ConfigNode(.scalar("", .plain), at: node.location)
        return NodeDecoder(node: child, codingPath: codingPath + [key], context: context)
    }
}

private struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let items: [ConfigNode]
    let codingPath: [any CodingKey]
    let context: NodeDecodingContext
    var currentIndex = 0

    init(items: [ConfigNode], codingPath: [any CodingKey], context: NodeDecodingContext) {
        self.items = items
        self.codingPath = codingPath
        self.context = context
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (ConfigNode, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(codingPath: codingPath, debugDescription: "the list has no more items")
            )
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (n, p) = try next(); return try context.bool(n, p) }
    mutating func decode(_ type: String.Type) throws -> String {
        let (n, p) = try next(); return try context.string(n, p)
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let (n, p) = try next(); return try context.floatingPoint(type, n, p)
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let (n, p) = try next(); return try context.floatingPoint(type, n, p)
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        let (n, p) = try next(); return try context.integer(type, n, p)
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (n, p) = try next()
        return try context.decodeValue(type, from: n, codingPath: p)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let (n, p) = try next()
        return try NodeDecoder(node: n, codingPath: p, context: context).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (n, p) = try next()
        return try NodeDecoder(node: n, codingPath: p, context: context).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (n, p) = try next()
        return NodeDecoder(node: n, codingPath: p, context: context)
    }
}

private struct SingleNodeContainer: SingleValueDecodingContainer {
    let node: ConfigNode
    let codingPath: [any CodingKey]
    let context: NodeDecodingContext

    func decodeNil() -> Bool { node.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try context.bool(node, codingPath) }
    func decode(_ type: String.Type) throws -> String { try context.string(node, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try context.floatingPoint(type, node, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try context.floatingPoint(type, node, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try context.integer(type, node, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try context.integer(type, node, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try context.integer(type, node, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try context.integer(type, node, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try context.integer(type, node, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try context.integer(type, node, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try context.integer(type, node, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try context.integer(type, node, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try context.integer(type, node, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try context.integer(type, node, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try context.decodeValue(type, from: node, codingPath: codingPath)
    }
}
