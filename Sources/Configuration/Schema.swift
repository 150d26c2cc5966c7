import Diagnostics

/// Documentation of one configuration key, generated from the same schema that validates it.
public struct ConfigurationKey: Sendable, Hashable {
    /// The dotted key path: `server.publicURL`, or `providers[].id` for list entries.
    public var path: String
    /// What the key accepts (`duration (1s...1h)`, `boolean`, `one of: sqlite, postgres`).
    public var type: String
    /// The default as YAML, or `nil` when the key is required or has no default.
    public var defaultValue: String?
    /// Whether the key must be written.
    public var isRequired: Bool
    /// The environment variable that overrides the key, or `nil` for keys inside lists.
    public var environmentVariable: String?
    /// One sentence on what the key does.
    public var summary: String
}

/// The schema of the whole configuration: the single source for validation, environment overrides,
/// the effective-config rendering and the README's configuration table.
public enum ConfigurationSchema {
    /// Every documented key in document order, sections before their keys.
    public static var allKeys: [ConfigurationKey] {
        PortcullisConfiguration.fields.flatMap { $0.document(PortcullisConfiguration(), "") }
    }

    /// The Markdown table of ``allKeys`` (key, type, default, environment variable, description).
    public static func markdownTable() -> String {
        var lines = [
            "| Key | Type | Default | Environment variable | Description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key in allKeys {
            let value = key.isRequired ? "*required*" : key.defaultValue.map { "`\($0)`" } ?? "—"
            let variable = key.environmentVariable.map { "`\($0)`" } ?? "—"
            let cells = ["`\(key.path)`", key.type, value, variable, key.summary].map {
                $0.replacingOccurrences(of: "|", with: "\\|")
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The environment variable for a key path: `server.publicURL` → `PORTCULLIS_SERVER_PUBLIC_URL`.
    public static func environmentVariable(for keyPath: String) -> String {
        var name = "PORTCULLIS"
        for component in keyPath.split(separator: ".") {
            name += "_"
            let characters = Array(component)
            for (index, character) in characters.enumerated() {
                if index > 0, character.isUppercase {
                    let previous = characters[index - 1]
                    let next = index + 1 < characters.count ? characters[index + 1] : nil
                    // A word starts at a lower→upper step, or at the last capital of an acronym
                    // followed by lowercase (`URLPath` → URL_PATH).
                    if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true)
                    {
                        name += "_"
                    }
                }
                name += character.uppercased()
            }
        }
        return name
    }
}

/// Decoding state shared by every field: issues, where each value came from, and secret variables.
struct DecodeState {
    var log = IssueLog()
    /// Key path → where its effective value was written; cross-field checks point here.
    var locations: [String: SourceLocation] = [:]
    /// Variables named by `{env: NAME}` secrets; they are not configuration keys.
    var secretVariables: Set<String> = []
}

/// A record type decoded from each item of a list section (`registries`, `providers`).
protocol SchemaRecord: Sendable {
    /// A value with every default; required fields hold placeholders until decoded.
    init()
    /// The record's keys.
    static var fields: [Field<Self>] { get }
    /// Remembers where the record was written and its key path (`providers[2]`).
    mutating func record(location: SourceLocation, keyPath: String)
}

extension SchemaRecord {
    mutating func record(location: SourceLocation, keyPath: String) {}
}

/// One key of a section of type `Root`: how to decode it, override it from the environment, render
/// it and document it.
struct Field<Root>: Sendable {
    let key: String
    let isRequired: Bool
    let decode: @Sendable (_ root: inout Root, _ node: ConfigNode, _ path: String, _ state: inout DecodeState) -> Void
    let applyEnvironment:
        @Sendable (_ root: inout Root, _ path: String, _ environment: [String: String], _ state: inout DecodeState) ->
            Void
    let render: @Sendable (_ root: Root) -> YAMLTree
    let document: @Sendable (_ root: Root, _ prefix: String) -> [ConfigurationKey]

    /// A key holding one value of `type`.
    static func value<T>(
        _ key: String,
        _ keyPath: any WritableKeyPath<Root, T> & Sendable,
        _ type: ValueType<T>,
        required: Bool = false,
        fromEnvironment: Bool = true,
        _ summary: String
    ) -> Field {
        Field(
            key: key,
            isRequired: required,
            decode: { root, node, path, state in
                if let value = type.decode(node, path, &state.log) {
                    root[keyPath: keyPath] = value
                    state.locations[path] = node.location
                    if let secret = value as? Secret, case .environment(let name) = secret.reference {
                        state.secretVariables.insert(name)
                    }
                }
            },
            applyEnvironment: { root, path, environment, state in
                guard fromEnvironment else { return }
                let variable = ConfigurationSchema.environmentVariable(for: path)
                guard let text = environment[variable] else { return }
                guard
                    let node = environmentNode(
                        text,
                        variable: variable,
                        structured: type.structuredEnvironment,
                        path: path,
                        log: &state.log
                    )
                else { return }
                if let value = type.decode(node, path, &state.log) {
                    root[keyPath: keyPath] = value
                    state.locations[path] = .environment(variable)
                    if let secret = value as? Secret, case .environment(let name) = secret.reference {
                        state.secretVariables.insert(name)
                    }
                }
            },
            render: { root in type.render(root[keyPath: keyPath]) },
            document: { root, prefix in
                let path = join(prefix, key)
                return [
                    ConfigurationKey(
                        path: path,
                        type: type.name,
                        defaultValue: required ? nil : YAMLRenderer.flow(type.render(root[keyPath: keyPath])),
                        isRequired: required,
                        environmentVariable: fromEnvironment && !prefix.contains("[]")
                            ? ConfigurationSchema.environmentVariable(for: path) : nil,
                        summary: summary
                    )
                ]
            }
        )
    }

    /// A key whose absence (or `null`) means "not set".
    static func optional<T>(
        _ key: String,
        _ keyPath: any WritableKeyPath<Root, T?> & Sendable,
        _ type: ValueType<T>,
        fromEnvironment: Bool = true,
        _ summary: String
    ) -> Field {
        let optionalType = ValueType<T?>(
            name: type.name,
            structuredEnvironment: type.structuredEnvironment,
            decode: { node, path, log in
                if node.isNull { return .some(nil) }
                return type.decode(node, path, &log).map { .some($0) }
            },
            render: { $0.map(type.render) ?? .raw("null") }
        )
        return value(key, keyPath, optionalType, fromEnvironment: fromEnvironment, summary)
    }

    /// A nested section (`server.tls`), a mapping of its own fields.
    static func section<Sub>(
        _ key: String,
        _ keyPath: any WritableKeyPath<Root, Sub> & Sendable,
        _ fields: [Field<Sub>]
    ) -> Field {
        Field(
            key: key,
            isRequired: false,
            decode: { root, node, path, state in
                var sub = root[keyPath: keyPath]
                decodeMapping(node, into: &sub, fields: fields, path: path, state: &state)
                root[keyPath: keyPath] = sub
                state.locations[path] = node.location
            },
            applyEnvironment: { root, path, environment, state in
                var sub = root[keyPath: keyPath]
                for field in fields { field.applyEnvironment(&sub, join(path, field.key), environment, &state) }
                root[keyPath: keyPath] = sub
            },
            render: { root in
                let sub = root[keyPath: keyPath]
                return .map(fields.map { ($0.key, $0.render(sub)) })
            },
            document: { root, prefix in
                let sub = root[keyPath: keyPath]
                return fields.flatMap { $0.document(sub, join(prefix, key)) }
            }
        )
    }

    /// A list of records (`providers`), each a mapping of `Element.fields`; not settable from the
    /// environment.
    static func records<Element: SchemaRecord>(
        _ key: String,
        _ keyPath: any WritableKeyPath<Root, [Element]> & Sendable,
        _ summary: String
    ) -> Field {
        Field(
            key: key,
            isRequired: false,
            decode: { root, node, path, state in
                if node.isNull { return }
                guard let items = node.items else {
                    state.log.add(.wrongType, at: node.location, path, "expected a list, got \(node.shapeName)")
                    return
                }
                var elements: [Element] = []
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path)[\(index)]"
                    guard item.entries != nil else {
                        state.log.add(
                            .wrongType,
                            at: item.location,
                            itemPath,
                            "expected a mapping, got \(item.shapeName)"
                        )
                        continue
                    }
                    var element = Element()
                    element.record(location: item.location, keyPath: itemPath)
                    decodeMapping(item, into: &element, fields: Element.fields, path: itemPath, state: &state)
                    state.locations[itemPath] = item.location
                    elements.append(element)
                }
                root[keyPath: keyPath] = elements
            },
            applyEnvironment: { _, _, _, _ in },
            render: { root in
                .list(
                    root[keyPath: keyPath].map { element in .map(Element.fields.map { ($0.key, $0.render(element)) }) }
                )
            },
            document: { root, prefix in
                let path = join(prefix, key)
                let own = ConfigurationKey(
                    path: path,
                    type: "list",
                    defaultValue: YAMLRenderer.flow(
                        .list(
                            root[keyPath: keyPath].map { element in
                                .map(Element.fields.map { ($0.key, $0.render(element)) })
                            }
                        )
                    ),
                    isRequired: false,
                    environmentVariable: nil,
                    summary: summary
                )
                return [own] + Element.fields.flatMap { $0.document(Element(), path + "[]") }
            }
        )
    }
}

/// Decodes the entries of `node` into `root`, reporting unknown, wrongly typed and missing keys.
func decodeMapping<Root>(
    _ node: ConfigNode,
    into root: inout Root,
    fields: [Field<Root>],
    path: String,
    state: inout DecodeState
) {
    guard let entries = node.entriesOrEmpty else {
        state.log.add(.wrongType, at: node.location, path, "expected a mapping, got \(node.shapeName)")
        return
    }
    var seen = Set<String>()
    for entry in entries {
        let entryPath = join(path, entry.key)
        guard let field = fields.first(where: { $0.key == entry.key }) else {
            state.log.add(
                .unknownKey,
                at: entry.keyLocation,
                entryPath,
                "unknown key" + Suggestion.hint(for: entry.key, in: fields.map(\.key))
            )
            continue
        }
        seen.insert(entry.key)
        field.decode(&root, entry.value, entryPath, &state)
    }
    for field in fields where field.isRequired && !seen.contains(field.key) {
        state.log.add(.missingKey, at: node.location, join(path, field.key), "missing required key '\(field.key)'")
    }
}

/// The node for an environment value: one plain scalar, or parsed YAML for structured types.
private func environmentNode(
    _ text: String,
    variable: String,
    structured: Bool,
    path: String,
    log: inout IssueLog
) -> ConfigNode? {
    let location = SourceLocation.environment(variable)
    guard structured, let first = text.first, first == "{" || first == "[" else {
        return ConfigNode(.scalar(text, .plain), at: location)
    }
    switch YAMLParser.parse(Array(text.utf8), file: "$" + variable) {
    case .success(let node):
        return node ?? ConfigNode(.scalar("", .plain), at: location)
    case .failure(let error):
        for issue in error.issues {
            log.add(issue.code, at: location, path, issue.message)
        }
        return nil
    }
}

func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
