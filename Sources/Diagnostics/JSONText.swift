/// Hand-written JSON text for the hot paths (log lines, token responses, JWT claims): deterministic
/// member order, `/` never escaped, and no Foundation encoder in the way.
public enum JSONText {
    /// `text` as a quoted JSON string (RFC 8259): quotes, backslashes and control characters are escaped.
    public static func quoted(_ text: String) -> String {
        // Most values (tokens, names, ids) need no escaping: copy them in one go.
        func isPlain(_ byte: UInt8) -> Bool { byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") }
        let plain =
            text.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(isPlain) } ?? text.utf8.allSatisfy(isPlain)
        if plain {
            var output = "\""
            output.reserveCapacity(text.utf8.count + 2)
            output += text
            output += "\""
            return output
        }
        var output = "\""
        output.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// A JSON array of strings.
    public static func array(_ values: [String]) -> String { "[" + values.map(quoted).joined(separator: ",") + "]" }

    /// A flat object of string values with its keys sorted, so stored texts compare stably (audit details);
    /// nil for no values.
    public static func object(sortingKeys values: [String: String]) -> String? {
        guard !values.isEmpty else { return nil }
        return object(values.sorted { $0.key < $1.key }.map { ($0.key, quoted($0.value)) })
    }

    /// A JSON object of the given members in the given order; values are already JSON text.
    public static func object(_ members: [(String, String)]) -> String {
        String(decoding: objectBytes(members), as: UTF8.self)
    }

    /// The same object as UTF-8 bytes, built in one buffer (token responses and audit details are built
    /// for every request, and string concatenation cost more than the rest of building them).
    public static func objectBytes(_ members: [(String, String)]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(members.reduce(2) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        output.append(UInt8(ascii: "{"))
        for (index, (name, value)) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: quoted(name).utf8)
            output.append(UInt8(ascii: ":"))
            output.append(contentsOf: value.utf8)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }
}
