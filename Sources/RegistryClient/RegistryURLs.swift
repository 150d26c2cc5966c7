import Foundation

/// The registry's names and links, checked before they become part of a URL we send a token to.
enum RegistryNames {
    /// Whether `name` matches the distribution grammar: lower-case components of `[a-z0-9]` joined by
    /// `.`, `_`, `__` or runs of `-`, separated by `/`, at most 255 bytes. Anything else (`..`, `%2F`, `?`)
    /// could steer the request elsewhere, so it never reaches a URL.
    static func isValidRepository(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        return bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy(isValidComponent)
    }

    private static func isValidComponent(_ component: ArraySlice<UInt8>) -> Bool {
        guard let first = component.first, let last = component.last, isAlphanumeric(first), isAlphanumeric(last)
        else { return false }
        var previous: UInt8 = first
        var underscores = 0
        for byte in component.dropFirst() {
            if isAlphanumeric(byte) {
                underscores = 0
            } else if byte == UInt8(ascii: "_") {
                underscores += 1
                guard underscores <= 2, isAlphanumeric(previous) || previous == UInt8(ascii: "_") else { return false }
            } else if byte == UInt8(ascii: ".") {
                guard isAlphanumeric(previous) else { return false }
            } else if byte == UInt8(ascii: "-") {
                guard isAlphanumeric(previous) || previous == UInt8(ascii: "-") else { return false }
            } else {
                return false
            }
            previous = byte
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Whether `reference` is a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) or a digest.
    static func isValidReference(_ reference: String) -> Bool { isValidTag(reference) || isValidDigest(reference) }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWordByte(first) else { return false }
        return bytes.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "_")
    }

    /// Whether `digest` is `algorithm:hex` as the OCI spec allows (`sha256:` plus 64 lower-case hex digits
    /// being the only form registries produce today).
    static func isValidDigest(_ digest: String) -> Bool {
        guard let colon = digest.firstIndex(of: ":"), digest.utf8.count <= 256 else { return false }
        let algorithm = digest[..<colon], encoded = digest[digest.index(after: colon)...]
        guard !algorithm.isEmpty, algorithm.utf8.allSatisfy({ isAlphanumeric($0) || "+._-".utf8.contains($0) }),
            encoded.utf8.count >= 32,
            encoded.utf8.allSatisfy({ isAlphanumeric($0) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) })
        else { return false }
        if algorithm == "sha256" {
            return encoded.utf8.count == 64 && encoded.utf8.allSatisfy { isHexLower($0) }
        }
        return true
    }

    private static func isHexLower(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288), as the registry paginates with it.
enum LinkHeader {
    /// The URI reference of the first link whose `rel` includes `next`, or nil.
    static func next(in values: [String]) -> String? {
        for value in values {
            for link in splitLinks(value) {
                guard let open = link.firstIndex(of: "<"), let close = link[open...].firstIndex(of: ">") else { continue }
                let target = String(link[link.index(after: open)..<close])
                let parameters = link[link.index(after: close)...].split(separator: ";")
                for parameter in parameters {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }
                    guard pair.count == 2, pair[0].lowercased() == "rel" else { continue }
                    let relations = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
                    if relations.split(separator: " ").contains("next") { return target }
                }
            }
        }
        return nil
    }

    /// Splits a header value into links at commas outside `<…>` and quotes.
    private static func splitLinks(_ value: String) -> [Substring] {
        var links: [Substring] = []
        var start = value.startIndex
        var inTarget = false, inQuotes = false
        for index in value.indices {
            switch value[index] {
            case "<" where !inQuotes: inTarget = true
            case ">" where !inQuotes: inTarget = false
            case "\"" where !inTarget: inQuotes.toggle()
            case "," where !inTarget && !inQuotes:
                links.append(value[start..<index])
                start = value.index(after: index)
            default: break
            }
        }
        links.append(value[start...])
        return links
    }

    /// `reference` resolved against `current`, or nil when it is unusable or leaves `current`'s origin
    /// (scheme, host and port): the next page gets the same token, which must not travel elsewhere.
    static func resolve(_ reference: String, against current: String) -> String? {
        guard reference.utf8.count <= 8192, reference.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }),
            let base = URL(string: current), let resolved = URL(string: reference, relativeTo: base)?.absoluteURL,
            resolved.scheme?.lowercased() == base.scheme?.lowercased(),
            resolved.host?.lowercased() == base.host?.lowercased(),
            effectivePort(resolved) == effectivePort(base)
        else { return nil }
        return resolved.absoluteString
    }

    private static func effectivePort(_ url: URL) -> Int? {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    }
}
