/// One entry a search returned: its DN and the values of the attributes that were asked for.
///
/// Attribute names are matched without regard to case, as LDAP does (`mail` finds `Mail`).
public struct LDAPEntry: Sendable, Hashable, CustomStringConvertible {
    /// The entry's distinguished name, as the server wrote it.
    public var dn: String
    /// Every returned value as raw bytes, by attribute name as the server wrote it.
    public var rawAttributes: [String: [[UInt8]]]

    /// Creates an entry.
    public init(dn: String, rawAttributes: [String: [[UInt8]]]) {
        self.dn = dn
        self.rawAttributes = rawAttributes
    }

    /// The text attributes: every attribute whose values are all valid UTF-8, by name as the server
    /// wrote it (binary attributes such as `objectGUID` are left out; read them with ``bytes(_:)``).
    public var attributes: [String: [String]] {
        var text: [String: [String]] = [:]
        for (name, values) in rawAttributes {
            let decoded = values.compactMap { String(validating: $0, as: UTF8.self) }
            if decoded.count == values.count { text[name] = decoded }
        }
        return text
    }

    /// The raw values of `attribute` (any case), empty when the entry has none.
    public func bytes(_ attribute: String) -> [[UInt8]] {
        if let exact = rawAttributes[attribute] { return exact }
        let wanted = attribute.lowercased()
        return rawAttributes.first { $0.key.lowercased() == wanted }?.value ?? []
    }

    /// The values of `attribute` (any case) that are valid UTF-8.
    public func values(_ attribute: String) -> [String] {
        bytes(attribute).compactMap { String(validating: $0, as: UTF8.self) }
    }

    /// The first UTF-8 value of `attribute`, if any.
    public func firstValue(_ attribute: String) -> String? { values(attribute).first }

    /// The first value of `attribute` as lowercase hex (`objectGUID`), if any.
    public func firstValueHex(_ attribute: String) -> String? {
        bytes(attribute).first.map { $0.map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined() }
    }

    /// The DN and attribute names; values are left out (they may hold personal data).
    public var description: String { "LDAPEntry(\(dn), attributes: \(rawAttributes.keys.sorted()))" }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
