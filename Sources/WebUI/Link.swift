import Foundation

/// A URL the UI may put in `href`, `action` or `src`: a local path made of percent-encoded segments, with an
/// optional encoded query, or an absolute `http(s)` URL that was checked. There is no initializer from an
/// arbitrary string, so a name from the database can never become `javascript:…` or `//evil.example`.
public struct Link: Sendable, Hashable, CustomStringConvertible {
    /// The URL text, safe to put in an attribute (the attribute escaping still applies).
    public let text: String

    fileprivate init(text: String) { self.text = text }

    /// A local path written in the source (`"/explore"`), with no user data in it.
    public init(_ path: StaticString) {
        precondition(path.description.hasPrefix("/") && !path.description.hasPrefix("//"), "a local path")
        text = path.description
    }

    /// `/first/second/…`: each segment percent-encoded, so `a/b`, `..` and `?` stay inside their segment.
    public static func path(_ segments: String...) -> Link { path(segments) }

    /// `/first/second/…` from an array of segments.
    public static func path(_ segments: [String]) -> Link {
        Link(text: "/" + segments.map(Self.encodeSegment).joined(separator: "/"))
    }

    /// `/<first>/<path>` for `path`'s `/`-separated segments, each encoded as `path(_:)` encodes it: one string
    /// when no segment needs encoding (names rarely do), as on every row of a list of repositories.
    static func path(_ first: String, slashSeparated path: String) -> Link {
        var segmentLength = 0, segmentIsDots = true, plain = !path.isEmpty
        for byte in path.utf8 where plain {
            if byte == UInt8(ascii: "/") {
                plain = segmentLength > 0 && !(segmentIsDots && segmentLength <= 2)
                (segmentLength, segmentIsDots) = (0, true)
            } else {
                plain = segmentAllowed[Int(byte)]
                segmentLength += 1
                segmentIsDots = segmentIsDots && byte == UInt8(ascii: ".")
            }
        }
        if plain, segmentLength > 0, !(segmentIsDots && segmentLength <= 2) {
            return Link(text: "/" + encodeSegment(first) + "/" + path)
        }
        return Self.path([first] + path.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
    }

    /// This path with `segments` after it, each encoded as `path(_:)` encodes it (call before adding a query).
    func appending(_ segments: [String]) -> Link {
        Link(text: text + "/" + segments.map(Self.encodeSegment).joined(separator: "/"))
    }

    /// This link with `items` as its query (empty values kept, nil values left out).
    public func query(_ items: [(String, String?)]) -> Link {
        let pairs = items.compactMap { name, value in
            value.map { Self.encodeQuery(name) + "=" + Self.encodeQuery($0) }
        }
        guard !pairs.isEmpty else { return self }
        let base = text.split(separator: "?", maxSplits: 1).first.map(String.init) ?? text
        return Link(text: base + "?" + pairs.joined(separator: "&"))
    }

    /// This link with a fragment (`#tags`).
    public func fragment(_ name: StaticString) -> Link { Link(text: text + "#" + name.description) }

    /// An absolute URL for a link to elsewhere (a webhook's target, a provider's page): only `http` and
    /// `https` with a host, else nil.
    public static func external(_ url: URL) -> Link? {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            return nil
        }
        return Link(text: url.absoluteString)
    }

    /// A path the client sent (`?next=`), accepted only when it is local: starts with one `/`, no `//` or
    /// `/\\` (both are other hosts to a browser), no control characters, no scheme. Else nil.
    public static func localRedirect(_ candidate: String?) -> Link? {
        guard let candidate, candidate.hasPrefix("/"), !candidate.hasPrefix("//"), !candidate.hasPrefix("/\\"),
            candidate.count <= 2048,
            !candidate.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || $0 == "\\" })
        else { return nil }
        // Re-encode what is not already a safe URL character (an attacker's quote or angle bracket).
        let allowed = CharacterSet.urlPathAllowed.union(.urlQueryAllowed).union(CharacterSet(charactersIn: "%#"))
        guard let encoded = candidate.addingPercentEncoding(withAllowedCharacters: allowed) else { return nil }
        return Link(text: encoded)
    }

    /// The text.
    public var description: String { text }

    /// Bytes a path segment keeps as they are (RFC 3986 unreserved and sub-delims, `:` and `@`).
    private static let segmentAllowed = byteSet("-._~:@!$'()*+,;=")
    /// Bytes a query name or value keeps as they are (`&`, `=`, `+` and `#` are encoded).
    private static let queryAllowed = byteSet("-._~:/@!$'()*,;")

    private static func byteSet(_ extra: String) -> [Bool] {
        var set = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { set[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { set[Int(byte)] = true }
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { set[Int(byte)] = true }
        for byte in extra.utf8 { set[Int(byte)] = true }
        return set
    }

    /// `text`'s UTF-8 with every byte outside `allowed` written `%XX`; the text itself when nothing needs it
    /// (names usually don't), without going through Foundation.
    private static func percentEncoded(_ text: String, keeping allowed: [Bool]) -> String {
        guard text.utf8.contains(where: { !allowed[Int($0)] }) else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if allowed[Int(byte)] {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encodeSegment(_ segment: String) -> String {
        let encoded = percentEncoded(segment, keeping: segmentAllowed)
        // `.` and `..` would be resolved away by the browser.
        if encoded == "." { return "%2E" }
        if encoded == ".." { return "%2E%2E" }
        return encoded
    }

    static func encodeQuery(_ text: String) -> String {
        percentEncoded(text, keeping: queryAllowed)
    }
}

/// Links that differ only in their last path segment (a table's rows): the common part is encoded once, not per
/// row.
struct LinkFamily: Sendable {
    private let prefix: String
    private let suffix: String

    /// The links `base/<segment>`; a query on `base` stays on each of them.
    init(_ base: Link) {
        let parts = base.text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        prefix = parts[0] + "/"
        suffix = parts.count > 1 ? "?" + parts[1] : ""
    }

    /// The member for `segment` (percent-encoded as `Link.path` encodes it).
    func callAsFunction(_ segment: String) -> Link {
        Link(text: prefix + Link.encodeSegment(segment) + suffix)
    }
}
