/// A position in a configuration source: a fragment file (1-based line and column) or an
/// environment variable (line and column 0).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The fragment path as it was loaded (`config.d/00-server.yaml`), or `$NAME` for an environment
    /// variable.
    public var file: String
    /// The 1-based line, or 0 when the source has no lines (an environment variable).
    public var line: Int
    /// The 1-based column, or 0 when the source has no lines.
    public var column: Int

    /// Creates a location from 1-based coordinates.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The location of a value given by the environment variable `name`.
    public static func environment(_ name: String) -> SourceLocation {
        SourceLocation(file: "$" + name, line: 0, column: 0)
    }

    /// Whether this location is an environment variable rather than a place in a file.
    public var isEnvironment: Bool { line == 0 && file.hasPrefix("$") }

    /// `file:line:column`, or just the variable (`$PORTCULLIS_LOG_LEVEL`) for the environment.
    public var description: String { line == 0 ? file : "\(file):\(line):\(column)" }
}

/// One node of a parsed YAML document, carrying where it was written.
///
/// Provider plugins receive their `config` block as a `ConfigNode` and decode it with
/// ``ConfigNodeDecoder`` so that their errors name `file:line:column` too.
public struct ConfigNode: Sendable, Hashable, CustomStringConvertible {
    /// How a scalar was written; quoted and block scalars are always strings.
    public enum ScalarStyle: Sendable, Hashable {
        /// Written without quotes: may be a number, a boolean or null depending on the target type.
        case plain
        /// Written single- or double-quoted, or as a literal/folded block: always a string.
        case quoted
    }

    /// One `key: value` pair of a mapping, in document order.
    public struct Entry: Sendable, Hashable {
        /// The key text.
        public var key: String
        /// Where the key was written.
        public var keyLocation: SourceLocation
        /// The value node.
        public var value: ConfigNode

        /// Creates an entry.
        public init(key: String, keyLocation: SourceLocation, value: ConfigNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    /// The shape of a node.
    public enum Kind: Sendable, Hashable {
        /// A scalar's text and how it was written.
        case scalar(String, ScalarStyle)
        /// A sequence's items.
        case sequence([ConfigNode])
        /// A mapping's entries in document order (keys are unique; the parser rejects duplicates).
        case mapping([Entry])
    }

    /// The node's shape and content.
    public var kind: Kind
    /// Where the node starts.
    public var location: SourceLocation

    /// Creates a node.
    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// An empty mapping, the value of an absent `config:` block.
    public static func emptyMapping(at location: SourceLocation) -> ConfigNode {
        ConfigNode(.mapping([]), at: location)
    }

    /// Whether this is a plain `null`, `~` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let text, .plain) = kind {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    /// The scalar text, or `nil` for sequences and mappings.
    public var scalarText: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    /// The mapping entries, or `nil` for scalars and sequences.
    public var entries: [Entry]? {
        if case .mapping(let entries) = kind { return entries }
        return nil
    }

    /// The mapping entries with null read as an empty mapping (`tls:` left blank); `nil` otherwise.
    var entriesOrEmpty: [Entry]? { isNull ? [] : entries }

    /// The sequence items, or `nil` for scalars and mappings.
    public var items: [ConfigNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    /// The value stored under `key` when this is a mapping.
    public subscript(key: String) -> ConfigNode? {
        entries?.first { $0.key == key }?.value
    }

    /// A word for the node's shape, used in "expected …, got …" messages.
    var shapeName: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let text, .quoted): return "the string \(YAMLRenderer.quoted(text))"
        case .scalar(let text, .plain): return isNull ? "null" : "'\(text)'"
        }
    }

    /// The node as YAML text (block style), with plain values under secret-looking keys
    /// (`password`, `secret`, `token`, …) shown as `***` in case an inline secret slipped in.
    public var description: String { YAMLRenderer.render(YAMLTree(maskingSecretsIn: self)) }
}

extension ConfigNode: Decodable {
    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Keeps a value as a node. ``ConfigNodeDecoder`` passes the original node with its positions;
    /// other decoders (JSON) rebuild the shape without positions.
    public init(from decoder: any Decoder) throws {
        let location = SourceLocation(file: "", line: 0, column: 0)
        if let container = try? decoder.container(keyedBy: AnyKey.self) {
            var entries: [Entry] = []
            for key in container.allKeys {
                entries.append(
                    Entry(
                        key: key.stringValue,
                        keyLocation: location,
                        value: try container.decode(ConfigNode.self, forKey: key)
                    )
                )
            }
            self.init(.mapping(entries), at: location)
        } else if var container = try? decoder.unkeyedContainer() {
            var items: [ConfigNode] = []
            while !container.isAtEnd { items.append(try container.decode(ConfigNode.self)) }
            self.init(.sequence(items), at: location)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self.init(.scalar("null", .plain), at: location)
            } else if let flag = try? container.decode(Bool.self) {
                self.init(.scalar(flag ? "true" : "false", .plain), at: location)
            } else if let number = try? container.decode(Int64.self) {
                self.init(.scalar(String(number), .plain), at: location)
            } else if let number = try? container.decode(Double.self) {
                self.init(.scalar(String(number), .plain), at: location)
            } else {
                self.init(.scalar(try container.decode(String.self), .quoted), at: location)
            }
        }
    }
}
