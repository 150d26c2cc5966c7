/// RFC 4180 CSV that is safe to open in a spreadsheet and to `cat` on a terminal: what the audit export
/// (and any later CSV output) writes.
///
/// - Fields holding a comma, a double quote, CR or LF are quoted, with quotes doubled; records end in CRLF.
/// - Formulas are defused as OWASP recommends: a field whose text starts with `=`, `+`, `-`, `@`, TAB or
///   CR gets a leading `'`, and so does every line inside a field that starts with one of them (a
///   spreadsheet may evaluate a cell's later lines too).
/// - NUL, ESC and the other control characters, DEL, C1 controls and bidirectional overrides are escaped
///   visibly (``InertText``: `\x00`, `\x1b`, `\u{202e}`); TAB, CR and LF are kept, inside quotes.
public enum CSV {
    /// The record separator RFC 4180 prescribes.
    public static let recordEnd = "\r\n"

    /// One record: the fields, each made safe, joined by commas, ending in CRLF.
    public static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + recordEnd
    }

    /// One field, made safe and quoted when needed.
    public static func field(_ value: String) -> String {
        let inert = InertText.escaped(value, allowing: [.lineBreaks, .tab])
        var defused = String.UnicodeScalarView()
        var atLineStart = true
        let scalars = Array(inert.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            if atLineStart && formulaTriggers.contains(scalar) { defused.append("'") }
            defused.append(scalar)
            // A CR directly followed by LF is one line break: the line starts after the LF.
            atLineStart =
                scalar == "\n" || (scalar == "\r" && (index + 1 == scalars.count || scalars[index + 1] != "\n"))
        }
        let text = String(defused)
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Characters that make a spreadsheet read a cell as a formula (or hide one) when they start it.
    private static let formulaTriggers: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]
}
