/// Portus's namespace name rules, with Portcullis's departure: `-` is kept (Portus #2143).
///
/// A valid name matches `^[a-z0-9]+([._-][a-z0-9]+)*$` and is at most 255 characters.
public enum NamespaceNaming {
    /// The name of the global namespace (images without a namespace, `busybox`) and its hidden team.
    public static let globalNamespaceName = "portcullis-global"

    /// The longest namespace name accepted.
    public static let maximumLength = 255

    /// Whether `name` is a valid namespace name as typed (no normalisation).
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength else { return false }
        var previousWasSeparator = true  // a name may not start with a separator
        for byte in name.utf8 {
            if isAlphanumeric(byte) {
                previousWasSeparator = false
            } else if isSeparator(byte) {
                if previousWasSeparator { return false }
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return !previousWasSeparator
    }

    /// Turns a username into a namespace name: lower-cased, trimmed to the first and last letter or
    /// digit, other characters replaced by `_`, runs of separators collapsed to one; nil when nothing
    /// valid is left.
    public static func namespaceName(forUsername username: String) -> String? {
        let lowered = Array(username.lowercased().utf8)
        guard let first = lowered.firstIndex(where: isAlphanumeric),
            let last = lowered.lastIndex(where: isAlphanumeric)
        else { return nil }
        var result: [UInt8] = []
        var pendingSeparator: UInt8?
        for byte in lowered[first...last] {
            if isAlphanumeric(byte) {
                if let separator = pendingSeparator { result.append(separator) }
                pendingSeparator = nil
                result.append(byte)
            } else if pendingSeparator == nil {
                pendingSeparator = isSeparator(byte) ? byte : UInt8(ascii: "_")
            } else {
                // Two or more separators in a row collapse to `_`, as Portus does.
                pendingSeparator = UInt8(ascii: "_")
            }
        }
        let name = String(decoding: result.prefix(maximumLength), as: UTF8.self)
        return isValid(name) ? name : nil
    }

    /// The first of `base`, `base0`, `base1`, … for which `isTaken` is false.
    public static func firstFreeName(base: String, isTaken: (String) throws -> Bool) rethrows -> String {
        if try !isTaken(base) { return base }
        var suffix = 0
        while try isTaken("\(base)\(suffix)") { suffix += 1 }
        return "\(base)\(suffix)"
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
