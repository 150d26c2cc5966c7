/// An IPv4 or IPv6 address, parsed strictly from text.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address, most significant octet first.
    case v4(UInt32)
    /// An IPv6 address, most significant group first.
    case v6(UInt128)

    /// Parses dotted-quad IPv4 (`192.0.2.1`, no leading zeros) or IPv6 text (`2001:db8::1`,
    /// `::ffff:192.0.2.1`); nil for anything else, including zone ids, brackets and ports.
    public init?(_ text: some StringProtocol) {
        let text = Substring(text)
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let value = Self.parseV6(text) else { return nil }
            self = .v6(value)
        } else {
            guard let value = Self.parseV4(text) else { return nil }
            self = .v4(value)
        }
    }

    /// The address in canonical form: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run
    /// shortened to `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        switch self {
        case .v4(let value): return Self.formatV4(value)
        case .v6(let value): return Self.formatV6(value)
        }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as dual-stack sockets report
    /// IPv4 peers) stands for; every other address unchanged.
    public var unmapped: IPAddress {
        if case .v6(let value) = self, value >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: value)) }
        return self
    }

    // MARK: Parsing

    static func parseV4(_ text: Substring) -> UInt32? {
        var result: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                result = result << 8 | octet
                (octet, digits, dots) = (0, 0, dots + 1)
            } else if byte >= 48 && byte <= 57 {
                // A leading zero reads as octal to some parsers (inet_aton); refuse the ambiguity.
                guard digits == 0 || octet != 0, digits < 3 else { return nil }
                octet = octet * 10 + UInt32(byte - 48)
                digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return result << 8 | octet
    }

    static func parseV6(_ text: Substring) -> UInt128? {
        // Split around the one allowed `::`.
        let head: Substring
        let tail: Substring?
        if let range = text.firstRange(of: "::") {
            head = text[..<range.lowerBound]
            tail = text[range.upperBound...]
            guard tail!.firstRange(of: "::") == nil else { return nil }
        } else {
            head = text
            tail = nil
        }
        guard let headGroups = groups(head, allowsIPv4Suffix: tail == nil) else { return nil }
        let tailGroups = tail.flatMap { groups($0, allowsIPv4Suffix: true) }
        if tail != nil && tailGroups == nil { return nil }
        let explicit = headGroups.count + (tailGroups?.count ?? 0)
        if tail == nil {
            guard explicit == 8 else { return nil }
        } else {
            guard explicit <= 7 else { return nil }
        }
        var value: UInt128 = 0
        for group in headGroups { value = value << 16 | UInt128(group) }
        value <<= 16 * UInt128(8 - headGroups.count)
        if let tailGroups {
            var low: UInt128 = 0
            for group in tailGroups { low = low << 16 | UInt128(group) }
            value |= low
        }
        return value
    }

    /// The 16-bit groups of one side of `::`; an IPv4 suffix counts as two groups.
    private static func groups(_ text: Substring, allowsIPv4Suffix: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 8 else { return nil }
        var result: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, allowsIPv4Suffix, part.utf8.contains(UInt8(ascii: ".")) {
                guard let v4 = parseV4(part) else { return nil }
                result.append(UInt16(v4 >> 16))
                result.append(UInt16(v4 & 0xFFFF))
                continue
            }
            guard (1...4).contains(part.utf8.count), let group = UInt16(part, radix: 16),
                part.utf8.allSatisfy({ isHexDigit($0) })
            else { return nil }
            result.append(group)
        }
        return result
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte | 0x20 >= 97 && byte | 0x20 <= 102)
    }

    // MARK: Formatting

    private static func formatV4(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    private static func formatV6(_ value: UInt128) -> String {
        if value >> 32 == 0xFFFF { return "::ffff:" + formatV4(UInt32(truncatingIfNeeded: value)) }
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: value >> (16 * UInt128(7 - $0))) }
        // The longest run of two or more zero groups, the first one on a tie (RFC 5952 §4.2).
        var bestStart = -1, bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// A block of IP addresses in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a
/// block of one (`/32` or `/128`).
public struct CIDR: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Why a CIDR did not parse; `description` names the input and the problem.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// The text that failed to parse.
        public let input: String
        /// What is wrong with it.
        public let reason: String
        /// `invalid CIDR "10.0.0.0/33": …`.
        public var description: String { "invalid CIDR \"\(input)\": \(reason)" }
    }

    /// The first address of the block.
    public let network: IPAddress
    /// The number of leading bits fixed by the block.
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address. Host bits set below the prefix (`10.0.0.1/8`) are
    /// an error rather than silently masked: in a trust list that is usually a typo.
    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingSpaces()
        let addressText: Substring
        let prefixText: Substring?
        if let slash = trimmed.firstIndex(of: "/") {
            addressText = trimmed[..<slash]
            prefixText = trimmed[trimmed.index(after: slash)...]
        } else {
            addressText = trimmed
            prefixText = nil
        }
        guard let address = IPAddress(addressText) else {
            throw ParseError(input: text, reason: "\"\(addressText)\" is not an IPv4 or IPv6 address")
        }
        let width = if case .v4 = address { 32 } else { 128 }
        var prefix = width
        if let prefixText {
            guard !prefixText.isEmpty, prefixText.utf8.count <= 3, prefixText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let parsed = Int(prefixText), parsed <= width
            else {
                throw ParseError(input: text, reason: "the prefix length must be a number from 0 to \(width)")
            }
            prefix = parsed
        }
        let network = Self.mask(address, prefixLength: prefix)
        guard network == address else {
            throw ParseError(
                input: text, reason: "host bits are set below /\(prefix); did you mean \(network)/\(prefix)?")
        }
        self.network = network
        self.prefixLength = prefix
    }

    /// Parses a literal, stopping the process if it is malformed (literals are written by programmers).
    public init(stringLiteral value: String) {
        do {
            try self.init(parsing: value)
        } catch {
            preconditionFailure(error.description)
        }
    }

    /// Whether `address` lies in the block; IPv4-mapped IPv6 addresses count as their IPv4 address.
    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address.unmapped) {
        case (.v4, .v4(let value)):
            return Self.mask(.v4(value), prefixLength: prefixLength) == network
        case (.v6, .v6(let value)):
            return Self.mask(.v6(value), prefixLength: prefixLength) == network
        case (.v6, .v4(let value)):
            return Self.mask(.v6(0xFFFF_0000_0000 | UInt128(value)), prefixLength: prefixLength) == network
        default:
            return false
        }
    }

    /// `10.0.0.0/8`, `2001:db8::/32`.
    public var description: String { "\(network)/\(prefixLength)" }

    private static func mask(_ address: IPAddress, prefixLength: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(prefixLength == 0 ? 0 : value & ~UInt32(0) << UInt32(32 - prefixLength))
        case .v6(let value):
            return .v6(prefixLength == 0 ? 0 : value & ~UInt128(0) << UInt128(128 - prefixLength))
        }
    }
}

/// Resolves the real client address and scheme behind trusted reverse proxies, and ignores the
/// forwarding headers from everyone else (any client can send them).
///
/// When the peer is in `trustedProxies`, `X-Forwarded-For` is read right to left, skipping trusted
/// hops: the first untrusted hop is the client. A malformed hop stops the walk at the last good one
/// (the proxy that would have appended it). If every hop is trusted, the left-most is the client.
/// `X-Forwarded-Proto` (its right-most value, set by the nearest proxy) decides `isSecure`. When the
/// peer is not trusted, the client is the peer and `isSecure` is whether this server terminated TLS.
/// Sets `context.clientAddress` (canonical text: `::ffff:192.0.2.1` from a dual-stack socket becomes
/// `192.0.2.1`; an unparseable peer is kept verbatim) and `context.isSecure`.
public struct ForwardedHeadersMiddleware: InlineMiddleware {
    /// The proxies whose forwarding headers are believed.
    public let trustedProxies: [CIDR]

    /// Creates the middleware; an empty list trusts no one, which is right when clients connect directly.
    public init(trustedProxies: [CIDR]) { self.trustedProxies = trustedProxies }

    /// Sets the resolved client address and scheme.
    public func prepare(_ request: inout HTTPRequest) {
        let resolved = resolve(connection: request.connection, headers: request.head.headers)
        request.context.clientAddress = resolved.clientAddress
        request.context.isSecure = resolved.isSecure
    }

    /// The client address and whether the original request used HTTPS, for a request from
    /// `connection` carrying `headers`.
    public func resolve(connection: HTTPConnectionInfo, headers: HTTPHeaders) -> (clientAddress: String, isSecure: Bool)
    {
        let directlySecure = connection.isTLS
        guard let peer = Self.parseHop(Substring(connection.remoteAddress)) else {
            return (connection.remoteAddress, directlySecure)
        }
        guard isTrusted(peer) else { return (peer.description, directlySecure) }

        var client = peer
        walk: for value in headers.values(for: "X-Forwarded-For").reversed() {
            for hop in value.split(separator: ",", omittingEmptySubsequences: false).reversed() {
                guard let address = Self.parseHop(hop) else { break walk }
                client = address
                if !isTrusted(address) { break walk }
            }
        }

        var isSecure = directlySecure
        if let proto = headers.values(for: "X-Forwarded-Proto").last?
            .split(separator: ",", omittingEmptySubsequences: false).last?.trimmingSpaces()
        {
            if proto.caseInsensitiveEquals("https") || proto.caseInsensitiveEquals("wss") {
                isSecure = true
            } else if proto.caseInsensitiveEquals("http") || proto.caseInsensitiveEquals("ws") {
                isSecure = false
            }
        }
        return (client.description, isSecure)
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// One forwarded hop: an address, optionally `[v6]:port` or `v4:port` as some proxies write it.
    static func parseHop(_ raw: Substring) -> IPAddress? {
        var text = raw.trimmingSpaces()
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && UInt16(rest.dropFirst()) != nil) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if let colon = text.firstIndex(of: ":"), text.lastIndex(of: ":") == colon,
            text.utf8.contains(UInt8(ascii: "."))
        {
            guard UInt16(text[text.index(after: colon)...]) != nil else { return nil }
            text = text[..<colon]
        }
        return IPAddress(text)?.unmapped
    }
}
