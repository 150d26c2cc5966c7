/// How config.d fragments combine: later fragments override earlier ones key by key, the drop-in
/// convention of systemd (`foo.service.d/*.conf`) and Portus (`config-local.yml`).
///
/// - Two mappings merge: each key of the later one replaces or merges into the same key of the earlier
///   one, and new keys are added. So `99-local.yaml` holding only `server: {publicURL: …}` changes that
///   one key of the shipped `00-server.yaml` and keeps the rest.
/// - Anything else replaces as a whole: a scalar, a secret reference (`{file: …}`, `{env: …}`), and a
///   list (`token.signingKeys`,
///   `server.trustedProxies`, a provider's `groupSync.rules`). Merging list items by position would
///   change the wrong one as soon as the earlier list changed.
/// - A null (an empty `server:` line, perhaps with every key below it commented out) adds nothing to a
///   mapping rather than erasing it; over anything else it replaces (`tls: {key: null}` unsets a key).
/// - The entries of the top-level lists `registries` and `providers` are named: an entry whose `name`
///   (registries) or `id` (providers) matches one of an earlier fragment merges into it key by key, and
///   any other is added at the end. So `providers: [{id: local, enabled: false}]` turns the shipped
///   provider off, and a fragment adding an LDAP provider keeps the shipped ones. The same name or id
///   twice in one fragment is still a duplicate (reported by validation). The lists
///   `workloadIdentity.issuers` and `workloadIdentity.policies` are named the same way (by `name`), so a
///   fragment per team adds its trust policies.
///
/// A key written twice inside one fragment stays an error (`YAMLParser` reports it), and every merged
/// value keeps the location it was written at, so `config check --origins` names the fragment and line
/// that set each effective value.
enum FragmentMerge {
    /// The top-level list sections whose entries are matched across fragments, with the key naming them.
    static let namedLists: [String: String] = ["registries": "name", "providers": "id"]
    /// Lists of named entries inside a top-level section, matched across fragments the same way: a team's
    /// fragment adds its trust policies to the shipped ones rather than replacing them.
    static let nestedNamedLists: [String: [String: String]] = [
        "workloadIdentity": ["issuers": "name", "policies": "name"]
    ]

    /// Merges the fragments' documents, in load order, into one top-level mapping; a document that is
    /// not a mapping, or a named list that is not a list, is reported and left out.
    static func merge(_ documents: [(name: String, root: ConfigNode)], log: inout IssueLog) -> ConfigNode {
        var merged: [ConfigNode.Entry] = []
        // Section → its position in `merged`: lookups stay linear on a fragment with a huge mapping.
        var positions: [String: Int] = [:]
        for document in documents {
            guard let topLevel = document.root.entries else {
                log.add(
                    .wrongType, at: document.root.location, "",
                    "a fragment must be a mapping of sections, got \(document.root.shapeName)")
                continue
            }
            for entry in topLevel {
                let earlier = positions[entry.key]
                guard let identity = namedLists[entry.key] else {
                    if let earlier, let lists = nestedNamedLists[entry.key] {
                        merged[earlier] = overlay(merged[earlier], with: entry, namedLists: lists)
                    } else if let earlier {
                        merged[earlier] = overlay(merged[earlier], with: entry)
                    } else {
                        positions[entry.key] = merged.count
                        merged.append(entry)
                    }
                    continue
                }
                if entry.value.isNull { continue }
                guard let items = entry.value.items else {
                    log.add(
                        .wrongType, at: entry.value.location, entry.key, "expected a list, got \(entry.value.shapeName)"
                    )
                    continue
                }
                if let earlier {
                    let combined = mergeNamed(merged[earlier].value.items ?? [], items, identity: identity)
                    merged[earlier].value = ConfigNode(.sequence(combined), at: merged[earlier].value.location)
                } else {
                    var first = entry
                    first.value = ConfigNode(
                        .sequence(mergeNamed([], items, identity: identity)), at: entry.value.location)
                    positions[entry.key] = merged.count
                    merged.append(first)
                }
            }
        }
        let location =
            documents.first.map { SourceLocation(file: $0.name, line: 1, column: 1) }
            ?? SourceLocation(file: "", line: 0, column: 0)
        return ConfigNode(.mapping(merged), at: location)
    }

    /// `later` over `earlier` (same key): merged when both values are mappings (or `later` is null over a
    /// mapping), replaced otherwise, where the key then counts as written where `later` wrote it.
    static func overlay(_ earlier: ConfigNode.Entry, with later: ConfigNode.Entry) -> ConfigNode.Entry {
        guard let merged = merge(earlier.value, with: later.value) else { return later }
        var result = earlier
        result.value = merged
        return result
    }

    /// ``overlay(_:with:)`` of a section holding lists of named entries (`namedLists`: key → the key naming
    /// its entries): where both hold such a list, later entries merge into earlier ones of the same name and
    /// new ones are added; every other key overlays as usual.
    static func overlay(
        _ earlier: ConfigNode.Entry, with later: ConfigNode.Entry, namedLists: [String: String]
    ) -> ConfigNode.Entry {
        guard case .mapping(let earlierEntries) = earlier.value.kind, case .mapping(let laterEntries) = later.value.kind
        else { return overlay(earlier, with: later) }
        var lists: [ConfigNode.Entry] = []
        var rest: [ConfigNode.Entry] = []
        for entry in laterEntries {
            if let identity = namedLists[entry.key], let items = entry.value.items,
                let previous = earlierEntries.first(where: { $0.key == entry.key }),
                let earlierItems = previous.value.items
            {
                var combined = previous
                combined.value = ConfigNode(
                    .sequence(mergeNamed(earlierItems, items, identity: identity)), at: previous.value.location)
                lists.append(combined)
            } else {
                rest.append(entry)
            }
        }
        var laterRest = later
        laterRest.value = ConfigNode(.mapping(rest), at: later.value.location)
        var result = overlay(earlier, with: laterRest)
        guard case .mapping(var entries) = result.value.kind else { return result }
        for list in lists {
            if let position = entries.firstIndex(where: { $0.key == list.key }) { entries[position] = list }
        }
        result.value = ConfigNode(.mapping(entries), at: result.value.location)
        return result
    }

    /// The two values merged, or nil when `later` replaces `earlier` as a whole.
    private static func merge(_ earlier: ConfigNode, with later: ConfigNode) -> ConfigNode? {
        guard case .mapping(var entries) = earlier.kind, !isSecretReference(earlier) else { return nil }
        if later.isNull { return earlier }
        guard case .mapping(let overrides) = later.kind, !isSecretReference(later) else { return nil }
        // Keys are unique within a mapping (the parser refuses duplicates), so a dictionary indexes them.
        var positions = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        for override in overrides {
            if let position = positions[override.key] {
                entries[position] = overlay(entries[position], with: override)
            } else {
                positions[override.key] = entries.count
                entries.append(override)
            }
        }
        return ConfigNode(.mapping(entries), at: earlier.location)
    }

    /// Whether `node` is a secret reference, `{file: PATH}` or `{env: NAME}`: one value, replaced whole, so
    /// `{env: X}` over `{file: Y}` is not merged into a mapping with both.
    private static func isSecretReference(_ node: ConfigNode) -> Bool {
        guard let entries = node.entries, entries.count == 1 else { return false }
        return entries[0].key == "file" || entries[0].key == "env"
    }

    /// `items` of one fragment added to the named entries of the earlier ones: an item whose `identity`
    /// matches an earlier fragment's entry merges into it; the rest (new names, a name repeated within
    /// this fragment, items without a name) are appended for validation to judge.
    private static func mergeNamed(_ earlier: [ConfigNode], _ items: [ConfigNode], identity: String) -> [ConfigNode] {
        var result = earlier
        var earlierPositions: [String: Int] = [:]
        for (position, entry) in earlier.enumerated() {
            if let name = entry[identity]?.scalarText, earlierPositions[name] == nil {
                earlierPositions[name] = position
            }
        }
        var namedHere: Set<String> = []
        for item in items {
            guard let name = item[identity]?.scalarText, !name.isEmpty, namedHere.insert(name).inserted,
                let position = earlierPositions[name],
                let merged = merge(result[position], with: item)
            else {
                result.append(item)
                continue
            }
            result[position] = merged
        }
        return result
    }
}
