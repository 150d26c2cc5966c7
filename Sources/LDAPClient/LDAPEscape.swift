/// Escaping of untrusted values before they are placed in a search filter or a DN.
///
/// Never build a filter or a DN from user input without these: `*`, `(`, `)` and NUL would change a
/// filter's meaning, and `,`, `+` or `=` a DN's.
public enum LDAPEscape {
    /// Escapes `value` for use as an assertion value in a search filter (RFC 4515 §3).
    ///
    /// `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`; other characters,
    /// UTF-8 included, are kept as they are. `Bob (Builder)*` becomes `Bob \28Builder\29\2a`.
    public static func filterValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*", "(", ")", "\\", "\0": escaped += hexEscape(UInt8(scalar.value))
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Escapes every byte of a binary value (an `objectGUID`) for a filter: `\01\ab…`.
    public static func filterValue(bytes: [UInt8]) -> String {
        bytes.map(hexEscape).joined()
    }

    /// Escapes `value` for use as an attribute value in a DN (RFC 4514 §2.4).
    ///
    /// `"`, `+`, `,`, `;`, `<`, `>`, `\` and `=` are backslash-escaped, as are a leading `#` or space
    /// and a trailing space; NUL becomes `\00`. `Smith, John` becomes `Smith\, John`.
    public static func distinguishedNameValue(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        var escaped = ""
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "\0":
                escaped += "\\00"
            case "\"", "+", ",", ";", "<", ">", "\\", "=":
                escaped += "\\" + String(scalar)
            case "#" where index == 0:
                escaped += "\\#"
            case " " where index == 0 || index == scalars.count - 1:
                escaped += "\\ "
            default:
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
    }
}

/// Reading DNs returned by a server.
public enum LDAPDistinguishedName {
    /// The attribute type and unescaped value of the first RDN of `dn`: `("cn", "Smith, John")` for
    /// `cn=Smith\, John,ou=people,dc=example,dc=org`; nil when `dn` does not start with `type=value`.
    ///
    /// A multi-valued first RDN (`cn=a+uid=b`) gives its first part; a hex-string value (`#04…`) is
    /// returned as written.
    public static func firstRDN(of dn: String) -> (type: String, value: String)? {
        let bytes = Array(dn.utf8)
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let type = String(decoding: bytes[..<equals], as: UTF8.self).trimmingSpaces()
        guard !type.isEmpty, !type.contains(",") else { return nil }
        var value: [UInt8] = []
        var index = equals + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { return nil }
                let next = bytes[index + 1]
                if index + 2 < bytes.count, let high = hexValue(next), let low = hexValue(bytes[index + 2]) {
                    value.append(high << 4 | low)
                    index += 3
                } else {
                    value.append(next)
                    index += 2
                }
                continue
            }
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ";") { break }
            value.append(byte)
            index += 1
        }
        return (type, String(decoding: value, as: UTF8.self))
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
