/// A piece of an HTML document, escaped by construction.
///
/// Pages are built from `Node`s with the `@HTMLBuilder` result builder and the element functions in
/// `Elements.swift`; nothing else produces markup. Text is escaped for a text context when it becomes a node,
/// attribute values for a double-quoted attribute, and URLs can only come from `Link`, which percent-encodes
/// what it is made of and admits no scheme but `http` and `https`. Tag and attribute names are `StaticString`s:
/// written in the source, never taken from a request or the database. So no user-controlled value can open a
/// tag, close an attribute or become a `javascript:` URL, whatever the page's author forgets.
public struct Node: Sendable {
    /// Markup is built eagerly: an element writes its tags around its children's bytes as it is made, so a page
    /// is a few byte buffers, not a tree of small nodes to walk and free afterwards (that tree cost the repository
    /// page more than its database read). Text stays a `String` until it is placed, so a short text costs no
    /// buffer; and markup past `largeCount` is joined by reference rather than copied into each enclosing element.
    enum Storage: Sendable {
        case markup([UInt8])
        case text(String)
        case joined([Node], count: Int)
    }

    var storage: Storage

    /// Above this many bytes, enclosing elements keep a node by reference instead of copying it.
    static let largeCount = 2048

    /// Text, escaped when placed.
    public static func text(_ text: String) -> Node { Node(storage: .text(text)) }

    /// Several nodes side by side.
    public static func fragment(_ nodes: [Node]) -> Node {
        let count = nodes.reduce(0) { $0 + $1.estimatedCount }
        if count > largeCount { return Node(storage: .joined(nodes, count: count)) }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for node in nodes { node.render(into: &out) }
        return Node(storage: .markup(out))
    }

    /// Nothing.
    public static let empty = Node(storage: .markup([]))

    /// An element with children.
    public static func element(_ tag: StaticString, _ attributes: [Attribute], _ children: Node) -> Node {
        var out: [UInt8] = []
        let childCount = children.estimatedCount
        if childCount > largeCount {
            out.reserveCapacity(tag.utf8CodeUnitCount + 2 + 48 * attributes.count)
            openTag(tag, attributes, into: &out)
            let open = Node(storage: .markup(out))
            var close: [UInt8] = []
            closeTag(tag, into: &close)
            return Node(
                storage: .joined(
                    [open, children, Node(storage: .markup(close))],
                    count: open.estimatedCount + childCount + close.count))
        }
        out.reserveCapacity(2 * tag.utf8CodeUnitCount + 5 + childCount + 48 * attributes.count)
        openTag(tag, attributes, into: &out)
        children.render(into: &out)
        closeTag(tag, into: &out)
        return Node(storage: .markup(out))
    }

    /// An element with children.
    public static func element(_ tag: StaticString, _ attributes: [Attribute], _ children: [Node]) -> Node {
        element(tag, attributes, .fragment(children))
    }

    /// A void element (`input`, `meta`, `link`, `br`): no children, no end tag.
    public static func void(_ tag: StaticString, _ attributes: [Attribute]) -> Node {
        var out: [UInt8] = []
        out.reserveCapacity(tag.utf8CodeUnitCount + 2 + 48 * attributes.count)
        openTag(tag, attributes, into: &out)
        return Node(storage: .markup(out))
    }

    /// Whether the node renders to nothing.
    public var isEmpty: Bool {
        switch storage {
        case .markup(let bytes): bytes.isEmpty
        case .text(let text): text.isEmpty
        case .joined(_, let count): count == 0
        }
    }

    /// Appends this node's markup to `out`.
    public func render(into out: inout [UInt8]) {
        switch storage {
        case .markup(let bytes): out.append(contentsOf: bytes)
        case .text(let text): HTMLEscaping.appendEscaped(text, to: &out)
        case .joined(let parts, _): for part in parts { part.render(into: &out) }
        }
    }

    /// The markup as bytes.
    public var bytes: [UInt8] {
        if case .markup(let bytes) = storage { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(estimatedCount)
        render(into: &out)
        return out
    }

    /// The bytes this node will take, for reserving (text may grow when escaped).
    var estimatedCount: Int {
        switch storage {
        case .markup(let bytes): bytes.count
        case .text(let text): text.utf8.count + 8
        case .joined(_, let count): count
        }
    }

    /// This node followed by `next`, reusing this node's buffer when it is the only owner.
    consuming func appending(_ next: Node) -> Node {
        switch storage {
        case .joined(var parts, let count):
            storage = .markup([])
            parts.append(next)
            return Node(storage: .joined(parts, count: count + next.estimatedCount))
        case .markup(var bytes):
            if next.estimatedCount > Self.largeCount {
                return Node(
                    storage: .joined([Node(storage: .markup(bytes)), next], count: bytes.count + next.estimatedCount))
            }
            storage = .markup([])
            next.render(into: &bytes)
            return Node(storage: .markup(bytes))
        case .text:
            return .fragment([self, next])
        }
    }

    static func openTag(_ tag: StaticString, _ attributes: [Attribute], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "<"))
        append(tag, to: &out)
        for attribute in attributes { attribute.render(into: &out) }
        out.append(UInt8(ascii: ">"))
    }

    static func closeTag(_ tag: StaticString, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "<"))
        out.append(UInt8(ascii: "/"))
        append(tag, to: &out)
        out.append(UInt8(ascii: ">"))
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

/// Builds a `Node` from statements: strings become escaped text, `if`, `switch` and `for` work. Statements are
/// joined one at a time into the first one's buffer (`buildPartialBlock`), so a block costs no array of parts.
@resultBuilder
public enum HTMLBuilder {
    /// An empty block.
    public static func buildBlock() -> Node { .empty }
    /// The first statement of a block.
    public static func buildPartialBlock(first: Node) -> Node { first }
    /// The next statement of a block, appended.
    public static func buildPartialBlock(accumulated: consuming Node, next: Node) -> Node {
        accumulated.appending(next)
    }
    /// A node.
    public static func buildExpression(_ node: Node) -> Node { node }
    /// Several nodes.
    public static func buildExpression(_ nodes: [Node]) -> Node { .fragment(nodes) }
    /// Text, escaped.
    public static func buildExpression(_ text: String) -> Node { .text(text) }
    /// `if` without `else`.
    public static func buildOptional(_ part: Node?) -> Node { part ?? .empty }
    /// `if`/`else`, `switch`.
    public static func buildEither(first: Node) -> Node { first }
    /// `if`/`else`, `switch`.
    public static func buildEither(second: Node) -> Node { second }
    /// `for … in`.
    public static func buildArray(_ parts: [Node]) -> Node { .fragment(parts) }
    /// `if #available`.
    public static func buildLimitedAvailability(_ part: Node) -> Node { part }
}

/// Writes markup straight into one buffer, for the long tables (a page of tag groups): there, even a node per
/// cell costs more than the page's database read. The same rules as the builder hold: tag names are static, text
/// and attribute values are escaped, URLs are `Link`s.
struct HTMLWriter {
    private var bytes: [UInt8] = []

    /// A writer with room for `capacity` bytes.
    init(reservingCapacity capacity: Int) { bytes.reserveCapacity(capacity) }

    /// `<tag …>`, what `body` writes, `</tag>`.
    mutating func element(_ tag: StaticString, _ attributes: Attribute..., body: (inout HTMLWriter) -> Void) {
        Node.openTag(tag, attributes, into: &bytes)
        body(&self)
        Node.closeTag(tag, into: &bytes)
    }

    /// `<tag …>text</tag>`, the text escaped.
    mutating func element(_ tag: StaticString, _ attributes: Attribute..., text: String) {
        Node.openTag(tag, attributes, into: &bytes)
        HTMLEscaping.appendEscaped(text, to: &bytes)
        Node.closeTag(tag, into: &bytes)
    }

    /// A void element (`input`, `br`).
    mutating func void(_ tag: StaticString, _ attributes: Attribute...) {
        Node.openTag(tag, attributes, into: &bytes)
    }

    /// Text, escaped.
    mutating func text(_ text: String) { HTMLEscaping.appendEscaped(text, to: &bytes) }

    /// A node built elsewhere (a shared component).
    mutating func append(_ node: Node) { node.render(into: &bytes) }

    /// What was written.
    var node: Node { Node(storage: .markup(bytes)) }
}
