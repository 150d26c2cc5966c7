import Foundation

/// The `rel="next"` target of a `Link` header (RFC 8288), as the registry paginates with it.
enum LinkHeader {
    /// The URI reference of the first link whose `rel` includes `next`, or nil.
    static func next(in values: [String]) -> String? {
        for value in values {
            for link in splitLinks(value) {
                guard let open = link.firstIndex(of: "<"), let close = link[open...].firstIndex(of: ">") else {
                    continue
                }
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
