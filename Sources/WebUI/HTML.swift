/// A piece of an HTML document, escaped by construction.
///
/// Pages are built from `Node`s with the `@HTMLBuilder` result builder and the element functions in
/// `Elements.swift`; nothing else produces markup. Text is escaped for a text context when it becomes a node,
/// attribute values for a double-quoted attribute, and URLs can only come from `Link`, which percent-encodes
/// what it is made of and admits no scheme but `http` and `https`. Tag and attribute names are `StaticString`s:
/// written in the source, never taken from a request or the database. So no user-controlled value can open a
/// tag, close an attribute or become a `javascript:` URL, whatever the page's author forgets.
public struct Node: Sendable {
    enum Content: Sendable {
        case element(tag: StaticString, attributes: [Attribute], children: [Node], isVoid: Bool)
        case text(String)
        case fragment([Node])
    }

    let content: Content

    /// Text, escaped when rendered.
    public static func text(_ text: String) -> Node { Node(content: .text(text)) }

    /// Several nodes side by side.
    public static func fragment(_ nodes: [Node]) -> Node { Node(content: .fragment(nodes)) }

    /// Nothing.
    public static let empty = Node(content: .fragment([]))

    /// An element with children.
    public static func element(_ tag: StaticString, _ attributes: [Attribute], _ children: [Node]) -> Node {
        Node(content: .element(tag: tag, attributes: attributes, children: children, isVoid: false))
    }

    /// A void element (`input`, `meta`, `link`, `br`): no children, no end tag.
    public static func void(_ tag: StaticString, _ attributes: [Attribute]) -> Node {
        Node(content: .element(tag: tag, attributes: attributes, children: [], isVoid: true))
    }

    /// Appends this node's markup to `out`.
    public func render(into out: inout [UInt8]) {
        switch content {
        case .text(let text): HTMLEscaping.appendEscaped(text, to: &out)
        case .fragment(let nodes): for node in nodes { node.render(into: &out) }
        case .element(let tag, let attributes, let children, let isVoid):
            out.append(UInt8(ascii: "<"))
            Self.append(tag, to: &out)
            for attribute in attributes { attribute.render(into: &out) }
            out.append(UInt8(ascii: ">"))
            if isVoid { return }
            for child in children { child.render(into: &out) }
            out.append(contentsOf: [UInt8(ascii: "<"), UInt8(ascii: "/")])
            Self.append(tag, to: &out)
            out.append(UInt8(ascii: ">"))
        }
    }

    /// The markup as bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        render(into: &out)
        return out
    }

    static func append(_ name: StaticString, to out: inout [UInt8]) {
        name.withUTF8Buffer { out.append(contentsOf: $0) }
    }
}

/// One attribute of an element: a name from the source and a value escaped for a double-quoted attribute.
public struct Attribute: Sendable {
    enum Value: Sendable {
        case text(String)
        case flag
    }

    let name: StaticString
    let value: Value

    /// `name="value"`, the value escaped. For URLs use `href`, `action` or `src`, which take a `Link`.
    public static func custom(_ name: StaticString, _ value: String) -> Attribute {
        assert(Self.isPlain(name), "\(name) takes a Link (href, action, src) or is never set from data")
        return Attribute(name: name, value: .text(value))
    }

    /// URL attributes, inline style and event handlers are not plain: URLs come only through `Link`
    /// (`href`, `action`, `src` below), and the others are never written at all (the CSP forbids them).
    static func isPlain(_ name: StaticString) -> Bool {
        let text = name.description.lowercased()
        return !["href", "src", "action", "formaction", "style", "srcdoc", "xlink:href"].contains(text)
            && !text.hasPrefix("on")
    }

    /// A boolean attribute (`checked`, `required`), present without a value.
    public static func flag(_ name: StaticString) -> Attribute { Attribute(name: name, value: .flag) }

    func render(into out: inout [UInt8]) {
        out.append(UInt8(ascii: " "))
        Node.append(name, to: &out)
        guard case .text(let text) = value else { return }
        out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
        HTMLEscaping.appendEscaped(text, to: &out)
        out.append(UInt8(ascii: "\""))
    }
}

extension Attribute {
    /// `class="…"`.
    public static func `class`(_ value: String) -> Attribute { .custom("class", value) }
    /// `id="…"`.
    public static func id(_ value: String) -> Attribute { .custom("id", value) }
    /// `title="…"` (a tooltip; also where truncated names show in full).
    public static func title(_ value: String) -> Attribute { .custom("title", value) }
    /// `name="…"` of a form control.
    public static func name(_ value: String) -> Attribute { .custom("name", value) }
    /// `value="…"` of a form control.
    public static func value(_ value: String) -> Attribute { .custom("value", value) }
    /// `type="…"`.
    public static func type(_ value: StaticString) -> Attribute { .custom("type", value.description) }
    /// `for="…"` of a label.
    public static func labelFor(_ id: String) -> Attribute { .custom("for", id) }
    /// `href="…"`: only a `Link`.
    public static func href(_ link: Link) -> Attribute { Attribute(name: "href", value: .text(link.text)) }
    /// `action="…"` of a form: only a `Link`.
    public static func action(_ link: Link) -> Attribute { Attribute(name: "action", value: .text(link.text)) }
    /// `src="…"`: only a `Link`.
    public static func src(_ link: Link) -> Attribute { Attribute(name: "src", value: .text(link.text)) }
    /// A `data-…` attribute for the page script; `name` is the whole attribute name (`"data-copy"`).
    public static func data(_ name: StaticString, _ value: String) -> Attribute { .custom(name, value) }
    /// `aria-label="…"`.
    public static func ariaLabel(_ value: String) -> Attribute { .custom("aria-label", value) }
    /// `aria-describedby="…"`.
    public static func ariaDescribedBy(_ value: String) -> Attribute { .custom("aria-describedby", value) }
    /// `role="…"`.
    public static func role(_ value: StaticString) -> Attribute { .custom("role", value.description) }
    /// `checked`.
    public static let checked = Attribute.flag("checked")
    /// `selected`.
    public static let selected = Attribute.flag("selected")
    /// `required`.
    public static let required = Attribute.flag("required")
    /// `disabled`.
    public static let disabled = Attribute.flag("disabled")
    /// `autofocus`.
    public static let autofocus = Attribute.flag("autofocus")
    /// `open` (of `details`).
    public static let open = Attribute.flag("open")
    /// `hidden`.
    public static let hidden = Attribute.flag("hidden")
}

/// Escaping for HTML text and double-quoted attribute values (the only two contexts the builder writes
/// user data into). `'` is escaped too, so a value stays inert even if a future template quotes with it.
public enum HTMLEscaping {
    /// Appends `text` with `& < > " '` replaced by character references.
    public static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let replacement: StaticString
                switch bytes[index] {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case UInt8(ascii: "\""): replacement = "&quot;"
                case UInt8(ascii: "'"): replacement = "&#39;"
                case 0: replacement = "\u{FFFD}"
                default: continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                replacement.withUTF8Buffer { out.append(contentsOf: $0) }
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
    }

    /// `text` escaped, as a string (tests and error messages).
    public static func escaped(_ text: String) -> String {
        var out: [UInt8] = []
        appendEscaped(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Builds `[Node]` from statements: strings become escaped text, `if`, `switch` and `for` work.
@resultBuilder
public enum HTMLBuilder {
    /// Statements side by side.
    public static func buildBlock(_ parts: [Node]...) -> [Node] { parts.flatMap { $0 } }
    /// A node.
    public static func buildExpression(_ node: Node) -> [Node] { [node] }
    /// Several nodes.
    public static func buildExpression(_ nodes: [Node]) -> [Node] { nodes }
    /// Text, escaped.
    public static func buildExpression(_ text: String) -> [Node] { [.text(text)] }
    /// `if` without `else`.
    public static func buildOptional(_ part: [Node]?) -> [Node] { part ?? [] }
    /// `if`/`else`, `switch`.
    public static func buildEither(first: [Node]) -> [Node] { first }
    /// `if`/`else`, `switch`.
    public static func buildEither(second: [Node]) -> [Node] { second }
    /// `for … in`.
    public static func buildArray(_ parts: [[Node]]) -> [Node] { parts.flatMap { $0 } }
    /// `if #available`.
    public static func buildLimitedAvailability(_ part: [Node]) -> [Node] { part }
}
