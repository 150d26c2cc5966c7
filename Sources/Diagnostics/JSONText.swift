/// Hand-written JSON text for the hot paths (log lines, token responses, JWT claims): deterministic
/// member order, `/` never escaped, and no Foundation encoder in the way.
public enum JSONText {
    /// `text` as a quoted JSON string (RFC 8259): quotes, backslashes and control characters are escaped.
    public static func quoted(_ text: String) -> String {
        var output: [UInt8] = []
        appendQuoted(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `text` as a quoted JSON string to `output`, so a document is written into one buffer without a
    /// string per value.
    public static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        // Most values (tokens, names, ids) need no escaping: copy them in one go.
        func isPlain(_ byte: UInt8) -> Bool { byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") }
        var text = text
        // No reserveCapacity here: reserving a little more on every call would reallocate the buffer each time
        // (reserveCapacity grows to exactly what is asked), where append grows it geometrically.
        text.withUTF8 { bytes in
            output.append(UInt8(ascii: "\""))
            if bytes.allSatisfy(isPlain) {
                output.append(contentsOf: bytes)
            } else {
                for byte in bytes {
                    switch byte {
                    case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
                    case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
                    case UInt8(ascii: "\n"): output.append(contentsOf: #"\n"#.utf8)
                    case UInt8(ascii: "\r"): output.append(contentsOf: #"\r"#.utf8)
                    case UInt8(ascii: "\t"): output.append(contentsOf: #"\t"#.utf8)
                    case 0..<0x20:
                        // UTF-8 continuation and lead bytes are all 0x80 or more, so a byte below 0x20 is a
                        // whole control character.
                        let hex = Array("0123456789abcdef".utf8)
                        output.append(contentsOf: #"\u00"#.utf8)
                        output.append(hex[Int(byte >> 4)])
                        output.append(hex[Int(byte & 0x0F)])
                    default: output.append(byte)
                    }
                }
            }
            output.append(UInt8(ascii: "\""))
        }
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
