import Diagnostics

/// A YAML value ready to be written: the effective configuration and `ConfigNode` descriptions.
indirect enum YAMLTree: Sendable {
    /// Text written as-is (numbers, booleans, flow-form secret references).
    case raw(String)
    /// A string, quoted when plain style would change its meaning.
    case string(String)
    /// A block list.
    case list([YAMLTree])
    /// A block mapping in the given order.
    case map([(key: String, value: YAMLTree)])

    /// A node as a tree, with plain scalars under secret-looking keys replaced by `***`.
    ///
    /// Plugins refuse inline secrets when they decode their `config`, but `config check` may render
    /// the block before that, so a mistaken inline password must not be echoed.
    init(maskingSecretsIn node: ConfigNode, underSecretKey: Bool = false) {
        switch node.kind {
        case .scalar(let text, let style):
            if underSecretKey && !node.isNull {
                self = .raw("'***'")
            } else {
                self = style == .plain ? .raw(YAMLRenderer.plain(text)) : .string(text)
            }
        case .sequence(let items):
            self = .list(items.map { YAMLTree(maskingSecretsIn: $0, underSecretKey: underSecretKey) })
        case .mapping(let entries):
            self = .map(
                entries.map { entry in
                    (
                        entry.key,
                        YAMLTree(maskingSecretsIn: entry.value, underSecretKey: YAMLRenderer.looksSecret(entry.key))
                    )
                }
            )
        }
    }

    /// A node as a tree, unmasked (for describing nodes, which carry no resolved secrets).
    init(_ node: ConfigNode) {
        switch node.kind {
        case .scalar(let text, let style): self = style == .plain ? .raw(YAMLRenderer.plain(text)) : .string(text)
        case .sequence(let items): self = .list(items.map(YAMLTree.init))
        case .mapping(let entries): self = .map(entries.map { ($0.key, YAMLTree($0.value)) })
        }
    }
}

/// Writes ``YAMLTree`` values as block-style YAML that libyaml reads back to the same values.
enum YAMLRenderer {
    static func render(node: ConfigNode) -> String { render(YAMLTree(node)) }

    static func render(_ tree: YAMLTree) -> String {
        if let text = inline(tree) { return text + "\n" }
        var lines: [String] = []
        write(tree, indent: "", into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Like ``render(_:)``, with `# comment` after every value written on one line, where `comment` is
    /// given the value's key path (`server.listen`, `providers[0].config.cache`) and may return nil.
    static func render(_ tree: YAMLTree, commenting comment: (String) -> String?) -> String {
        var lines: [String] = []
        write(tree, indent: "", into: &lines, at: "", commenting: comment)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The one-line flow form (`[{key: a, certificate: b}]`), for documentation tables.
    static func flow(_ tree: YAMLTree) -> String {
        switch tree {
        case .raw, .string: return inline(tree)!
        case .list(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case .map(let entries):
            return "{" + entries.map { scalar($0.key) + ": " + flow($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// The one-line form of scalars and empty collections, `nil` for anything needing a block.
    private static func inline(_ tree: YAMLTree) -> String? {
        switch tree {
        case .raw(let text): return text
        case .string(let text): return scalar(text)
        case .list(let items): return items.isEmpty ? "[]" : nil
        case .map(let entries): return entries.isEmpty ? "{}" : nil
        }
    }

    private static func write(
        _ tree: YAMLTree, indent: String, into lines: inout [String], at path: String = "",
        commenting comment: (String) -> String? = { _ in nil }
    ) {
        func commented(_ line: String, _ path: String) -> String {
            guard let text = comment(path) else { return line }
            return line + "  # " + text
        }
        switch tree {
        case .raw, .string:
            lines.append(commented(indent + inline(tree)!, path))
        case .list(let items):
            for (index, item) in items.enumerated() {
                let itemPath = "\(path)[\(index)]"
                if let text = inline(item) {
                    lines.append(commented(indent + "- " + text, itemPath))
                } else {
                    // The first line of a nested block goes after the dash; the rest keep its indent.
                    var nested: [String] = []
                    write(item, indent: indent + "  ", into: &nested, at: itemPath, commenting: comment)
                    if let first = nested.first {
                        lines.append(indent + "- " + first.dropFirst(indent.count + 2))
                        lines += nested.dropFirst()
                    }
                }
            }
        case .map(let entries):
            for (key, value) in entries {
                let keyPath = path.isEmpty ? key : path + "." + key
                if let text = inline(value) {
                    lines.append(commented(indent + scalar(key) + ": " + text, keyPath))
                } else {
                    lines.append(indent + scalar(key) + ":")
                    write(value, indent: indent + "  ", into: &lines, at: keyPath, commenting: comment)
                }
            }
        }
    }

    /// A string in plain style when that reads back as the same string, double-quoted otherwise.
    static func scalar(_ text: String) -> String {
        isSafePlain(text) && !looksTyped(text) ? text : quoted(text)
    }

    /// A plain scalar as it was written, quoted only if it could not be written plain.
    static func plain(_ text: String) -> String { isSafePlain(text) ? text : quoted(text) }

    /// A double-quoted YAML string with escapes.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value) {
                    result += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else if InertText.isDangerous(scalar) {
                    // Bidi controls and line separators: YAML's \uNNNN, so the rendering stays inert too.
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// Whether a key name suggests its value is a secret.
    static func looksSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["password", "secret", "token", "credential", "privatekey", "apikey"].contains { lowered.contains($0) }
    }

    private static func isSafePlain(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first else { return false }
        let safeFirst =
            first.properties.isAlphabetic || ("0"..."9").contains(first) || first == "/" || first == "." || first == "_"
        guard safeFirst, text.unicodeScalars.last != " " else { return false }
        if text.contains(": ") || text.contains(" #") || text.hasSuffix(":") { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || "._-/:@+=%~ ()".unicodeScalars.contains(scalar)
        }
    }

    /// Whether a plain scalar would read as a boolean, null or number in generic YAML.
    private static func looksTyped(_ text: String) -> Bool {
        let lowered = text.lowercased()
        if ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(lowered) { return true }
        return Double(text) != nil || Int(text) != nil
    }
}
