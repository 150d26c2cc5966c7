import Diagnostics
import Foundation

/// How one kind of value is read from a node, shown in documentation and rendered back to YAML.
///
/// Each configuration key names a `ValueType`, so the schema, the decoder and the README table
/// cannot disagree about what a key accepts.
struct ValueType<Value: Sendable>: Sendable {
    /// The type as documented (`duration`, `boolean`, `one of: sqlite, postgres`).
    let name: String
    /// Whether an environment value is parsed as YAML (`{env: NAME}`, `[a, b]`) rather than taken as
    /// one plain scalar.
    var structuredEnvironment = false
    /// Reads `node` (at key path `path`), logging issues; `nil` means the value was rejected.
    let decode: @Sendable (_ node: ConfigNode, _ path: String, _ log: inout IssueLog) -> Value?
    /// The value as YAML.
    let render: @Sendable (Value) -> YAMLTree

    /// A type read from one scalar; `parse` returns the value or an issue code and message.
    static func scalar(
        _ name: String,
        render: @escaping @Sendable (Value) -> YAMLTree,
        parse: @escaping @Sendable (_ text: String, _ style: ConfigNode.ScalarStyle) -> Result<Value, ValueProblem>
    ) -> ValueType {
        ValueType(
            name: name,
            decode: { node, path, log in
                guard case .scalar(let text, let style) = node.kind, !node.isNull else {
                    log.add(.wrongType, at: node.location, path, "expected \(name), got \(node.shapeName)")
                    return nil
                }
                switch parse(text, style) {
                case .success(let value):
                    return value
                case .failure(let problem):
                    log.add(problem.code, at: node.location, path, problem.message)
                    return nil
                }
            },
            render: render
        )
    }
}

/// Why a scalar was refused.
struct ValueProblem: Error {
    var code: ConfigIssue.Code
    var message: String

    static func wrongType(_ message: String) -> ValueProblem { ValueProblem(code: .wrongType, message: message) }
    static func invalid(_ message: String) -> ValueProblem { ValueProblem(code: .invalidValue, message: message) }
}

extension ValueType where Value == Bool {
    /// `true` or `false` (any case), unquoted.
    static let boolean = ValueType.scalar("boolean", render: { .raw($0 ? "true" : "false") }) { text, style in
        let lowered = text.lowercased()
        guard style == .plain else {
            return .failure(
                .wrongType(
                    "expected a boolean (true or false), got the string \(YAMLRenderer.quoted(text)); remove the quotes"
                )
            )
        }
        switch lowered {
        case "true": return .success(true)
        case "false": return .success(false)
        default: return .failure(.wrongType("expected a boolean (true or false), got '\(text)'"))
        }
    }
}

extension ValueType where Value == Int {
    /// A decimal integer within `range`, unquoted.
    static func integer(_ range: ClosedRange<Int>) -> ValueType {
        ValueType.scalar("integer (\(range.lowerBound)...\(range.upperBound))", render: { .raw(String($0)) }) {
            text,
            style in
            guard style == .plain, let value = Int(text) else {
                return .failure(
                    .wrongType(
                        "expected an integer, got \(style == .plain ? "'\(text)'" : "the string \(YAMLRenderer.quoted(text))")"
                    )
                )
            }
            guard range.contains(value) else {
                return .failure(.invalid("\(value) is out of range \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(value)
        }
    }

    /// A byte count: `1048576`, `"64KiB"`, `"1MiB"`, `"1GiB"`, within `range`.
    static func byteSize(_ range: ClosedRange<Int>) -> ValueType {
        ValueType.scalar(
            "size (bytes, or KiB/MiB/GiB; \(ByteSizeFormat.render(range.lowerBound))...\(ByteSizeFormat.render(range.upperBound)))",
            render: { .string(ByteSizeFormat.render($0)) }
        ) { text, _ in
            guard let value = ByteSizeFormat.parse(text) else {
                return .failure(
                    .invalid(
                        "'\(text)' is not a size; write bytes (1048576) or a number with KiB, MiB or GiB (\"64KiB\")"
                    )
                )
            }
            guard range.contains(value) else {
                return .failure(
                    .invalid(
                        "\(text) is out of range \(ByteSizeFormat.render(range.lowerBound))...\(ByteSizeFormat.render(range.upperBound))"
                    )
                )
            }
            return .success(value)
        }
    }
}

extension ValueType where Value == String {
    /// Any non-empty scalar, taken as text whatever it looks like.
    static let string = ValueType.scalar("string", render: { .string($0) }) { text, _ in
        text.isEmpty ? .failure(.invalid("must not be empty")) : .success(text)
    }

    /// A filesystem path (relative paths are relative to the working directory).
    static let path = ValueType.scalar("path", render: { .string($0) }) { text, _ in
        if text.isEmpty { return .failure(.invalid("must not be empty")) }
        if text.contains("\0") { return .failure(.invalid("a path cannot contain NUL")) }
        return .success(text)
    }

    /// A stable identifier: `[a-z0-9][a-z0-9-]*`, at most 63 characters.
    static let identifier = ValueType.scalar("identifier ([a-z0-9][a-z0-9-]*)", render: { .string($0) }) { text, _ in
        let bytes = Array(text.utf8)
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (!first && byte == UInt8(ascii: "-"))
        }
        guard !bytes.isEmpty, bytes.count <= 63, allowed(bytes[0], first: true),
            bytes.allSatisfy({ allowed($0, first: false) })
        else {
            return .failure(
                .invalid(
                    "'\(text)' is not a valid id; use lowercase letters, digits and '-', starting with a letter or digit (at most 63)"
                )
            )
        }
        return .success(text)
    }

    /// An absolute URL path such as `/v2/token`.
    static let urlPath = ValueType.scalar("URL path", render: { .string($0) }) { text, _ in
        guard text.hasPrefix("/"), !text.contains("?"), !text.contains("#"), !text.contains(" ") else {
            return .failure(
                .invalid("'\(text)' is not an absolute URL path (it must start with '/', without query or fragment)")
            )
        }
        return .success(text)
    }

    /// A CIDR block (`10.0.0.0/8`, `fd00::/8`) or a single address.
    static let cidr = ValueType.scalar("CIDR", render: { .string($0) }) { text, _ in
        NetworkSyntax.isCIDR(text)
            ? .success(text) : .failure(.invalid("'\(text)' is not an address or CIDR block (10.0.0.0/8, fd00::/8)"))
    }
}

extension ValueType where Value == Duration {
    /// A duration: `300` (seconds), `"300s"`, `"5m"`, `"1h"`, `"250ms"`, `"1h30m"`, `"30d"`, within `range`.
    static func duration(_ range: ClosedRange<Duration>) -> ValueType {
        let bounds = "\(DurationFormat.render(range.lowerBound))...\(DurationFormat.render(range.upperBound))"
        return ValueType.scalar("duration (\(bounds))", render: { .string(DurationFormat.render($0)) }) { text, _ in
            guard let value = DurationFormat.parse(text) else {
                return .failure(
                    .invalid("'\(text)' is not a duration; write seconds (300) or a number with ms, s, m or h (\"5m\")")
                )
            }
            guard range.contains(value) else {
                return .failure(.invalid("\(text) is out of range \(bounds)"))
            }
            return .success(value)
        }
    }
}

extension ValueType where Value == URL {
    /// An absolute `http` or `https` URL without query, fragment or credentials; a trailing `/` is
    /// dropped so paths can be appended.
    static let httpURL = ValueType.scalar("http(s) URL", render: { .string($0.absoluteString) }) { text, _ in
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            return .failure(.invalid("'\(text)' is not an absolute http or https URL"))
        }
        if components.user != nil || components.password != nil {
            return .failure(.invalid("credentials do not belong in a URL here; use a secret reference"))
        }
        if components.query != nil || components.fragment != nil {
            return .failure(.invalid("'\(text)' must not have a query or fragment"))
        }
        if let port = components.port, !(1...65535).contains(port) {
            return .failure(.invalid("port \(port) is out of range 1...65535"))
        }
        var normalized = components
        while normalized.path.hasSuffix("/") { normalized.path.removeLast() }
        guard let url = normalized.url else { return .failure(.invalid("'\(text)' is not a valid URL")) }
        return .success(url)
    }
}

extension ValueType where Value == ListenAddress {
    /// `host:port`, with IPv6 hosts in brackets (`[::1]:5080`).
    static let listenAddress = ValueType.scalar("host:port", render: { .string($0.description) }) { text, _ in
        switch ListenAddress.parse(text) {
        case .success(let address): return .success(address)
        case .failure(let problem): return .failure(problem)
        }
    }
}

extension ValueType where Value == Secret {
    /// `{file: PATH}` or `{env: NAME}`; an inline value is refused.
    static let secret = ValueType(
        name: "secret ({file: PATH} or {env: NAME})",
        structuredEnvironment: true,
        decode: { node, path, log in
            guard let entries = node.entries else {
                if node.scalarText != nil && !node.isNull {
                    log.add(
                        .inlineSecret,
                        at: node.location,
                        path,
                        "secrets must be given by reference: {file: /run/secrets/NAME} or {env: VARIABLE}"
                    )
                } else {
                    log.add(
                        .wrongType,
                        at: node.location,
                        path,
                        "expected {file: PATH} or {env: NAME}, got \(node.shapeName)"
                    )
                }
                return nil
            }
            guard entries.count == 1, let entry = entries.first, entry.key == "file" || entry.key == "env" else {
                let unknown = entries.first { $0.key != "file" && $0.key != "env" }
                if let unknown {
                    log.add(
                        .unknownKey,
                        at: unknown.keyLocation,
                        path + "." + unknown.key,
                        "unknown key; a secret is {file: PATH} or {env: NAME}"
                            + Suggestion.hint(for: unknown.key, in: ["file", "env"])
                    )
                } else {
                    log.add(.invalidValue, at: node.location, path, "a secret has exactly one of 'file' or 'env'")
                }
                return nil
            }
            guard let text = entry.value.scalarText, !entry.value.isNull, !text.isEmpty else {
                log.add(
                    .wrongType,
                    at: entry.value.location,
                    path + "." + entry.key,
                    "expected a non-empty string, got \(entry.value.shapeName)"
                )
                return nil
            }
            if entry.key == "file" {
                return Secret(.file(text))
            }
            guard NetworkSyntax.isEnvironmentName(text) else {
                log.add(
                    .invalidValue,
                    at: entry.value.location,
                    path + ".env",
                    "'\(text)' is not an environment variable name"
                )
                return nil
            }
            return Secret(.environment(text))
        },
        render: { .raw($0.referenceDescription) }
    )
}

extension ValueType where Value == ConfigNode {
    /// An opaque mapping kept with its positions for a plugin to decode; null means empty.
    static let opaqueMapping = ValueType(
        name: "mapping (decoded by the provider type)",
        structuredEnvironment: true,
        decode: { node, path, log in
            if node.isNull { return .emptyMapping(at: node.location) }
            guard node.entries != nil else {
                log.add(.wrongType, at: node.location, path, "expected a mapping, got \(node.shapeName)")
                return nil
            }
            return node
        },
        render: { YAMLTree(maskingSecretsIn: $0) }
    )
}

extension ValueType {
    /// One of the raw values of `E`.
    static func oneOf<E: RawRepresentable & CaseIterable & Sendable>(_: E.Type) -> ValueType<E>
    where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return ValueType<E>.scalar("one of: " + names.joined(separator: ", "), render: { .string($0.rawValue) }) {
            text,
            _ in
            if let value = E(rawValue: text) { return .success(value) }
            return .failure(
                .invalid(
                    "unknown value '\(text)'; expected one of \(names.joined(separator: ", "))"
                        + Suggestion.hint(for: text, in: names)
                )
            )
        }
    }

    /// A list of `element` values; from the environment, a YAML list or comma-separated text.
    static func list<Element>(of element: ValueType<Element>) -> ValueType<[Element]> {
        ValueType<[Element]>(
            name: "list of \(element.name)",
            structuredEnvironment: true,
            decode: { node, path, log in
                if node.isNull { return [] }
                let items: [ConfigNode]
                switch node.kind {
                case .sequence(let list):
                    items = list
                case .scalar(let text, .plain) where node.location.file.hasPrefix("$"):
                    // From the environment, `a,b` is friendlier than YAML list syntax.
                    items = text.split(separator: ",").map {
                        ConfigNode(.scalar($0.trimmingCharacters(in: .whitespaces), .plain), at: node.location)
                    }
                default:
                    log.add(.wrongType, at: node.location, path, "expected a list, got \(node.shapeName)")
                    return nil
                }
                var values: [Element] = []
                var failed = false
                for (index, item) in items.enumerated() {
                    if let value = element.decode(item, "\(path)[\(index)]", &log) {
                        values.append(value)
                    } else {
                        failed = true
                    }
                }
                return failed ? nil : values
            },
            render: { .list($0.map(element.render)) }
        )
    }
}

/// A `host:port` pair to listen on.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host: an IPv4 or IPv6 address (without brackets) or a host name.
    public var host: String
    /// The TCP port; 0 asks the kernel for a free one.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:5080` or `[::1]:5080`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func parse(_ text: String) -> Result<ListenAddress, ValueProblem> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.invalid("'\(text)' is not host:port; write IPv6 as [::1]:5080"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard NetworkSyntax.isIPv6(String(host)) else {
                return .failure(.invalid("'\(host)' is not an IPv6 address"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.invalid("'\(text)' is not host:port (for example 127.0.0.1:5080)"))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.invalid("'\(text)': write an IPv6 host in brackets, as [::1]:5080"))
            }
            guard NetworkSyntax.isIPv4(String(host)) || NetworkSyntax.isHostName(String(host)) else {
                return .failure(.invalid("'\(host)' is not an IP address or host name"))
            }
        }
        guard let port = Int(portText), portText.allSatisfy(\.isASCII) else {
            return .failure(.invalid("'\(portText)' is not a port number"))
        }
        guard (0...65535).contains(port) else {
            return .failure(.invalid("port \(port) is out of range 0...65535"))
        }
        return .success(ListenAddress(host: String(host), port: port))
    }
}

/// Syntax checks for addresses and names (no lookups).
enum NetworkSyntax {
    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return false }
        let address = String(parts[0])
        let maximum: Int
        if isIPv4(address) {
            maximum = 32
        } else if isIPv6(address) {
            maximum = 128
        } else {
            return false
        }
        guard parts.count == 2 else { return true }
        guard let prefix = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else { return false }
        return (0...maximum).contains(prefix)
    }

    static func isEnvironmentName(_ text: String) -> Bool {
        guard let first = text.first, !first.isNumber else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

/// Parses and renders durations such as `300`, `"250ms"`, `"5m"`, `"1h30m"`.
enum DurationFormat {
    static func parse(_ text: String) -> Duration? {
        if let seconds = Int(text), seconds >= 0, seconds <= 100_000_000 { return .seconds(seconds) }
        var total: Int64 = 0
        var index = text.startIndex
        guard index < text.endIndex else { return nil }
        while index < text.endIndex {
            let digitsStart = index
            while index < text.endIndex, text[index].isASCII, text[index].isNumber { index = text.index(after: index) }
            let digits = text[digitsStart..<index]
            guard !digits.isEmpty, digits.count <= 9, let number = Int64(digits) else { return nil }
            let unitStart = index
            while index < text.endIndex, text[index].isASCII, text[index].isLetter { index = text.index(after: index) }
            let factor: Int64
            switch text[unitStart..<index] {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return nil
            }
            let (product, overflowed) = number.multipliedReportingOverflow(by: factor)
            let (sum, overflowedSum) = total.addingReportingOverflow(product)
            guard !overflowed, !overflowedSum else { return nil }
            total = sum
        }
        return .milliseconds(total)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    static func render(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms == 0 { return "0s" }
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

/// Parses and renders byte sizes such as `1048576`, `"64KiB"`, `"1MiB"`.
enum ByteSizeFormat {
    static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let number = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let factor: Int
        switch unit {
        case "", "B": factor = 1
        case "KiB": factor = 1 << 10
        case "MiB": factor = 1 << 20
        case "GiB": factor = 1 << 30
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
    }

    static func render(_ bytes: Int) -> String {
        if bytes > 0 && bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes > 0 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        if bytes > 0 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
        return "\(bytes)"
    }
}
