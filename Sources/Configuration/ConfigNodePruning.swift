/// Setting a problem value aside so ``ConfigNodeDecoder`` can decode again and find the next problem.

/// One step of a key path below a decoded block: a mapping key or a list index.
enum ConfigPathStep: Equatable {
    case key(String)
    case index(Int)

    /// The steps of `keyPath` below `prefix` (`providers[1].config.servers[0].url` under
    /// `providers[1].config` is `servers`, `0`, `url`); nil when it is not below `prefix` or names the
    /// block itself.
    static func parse(_ keyPath: String, under prefix: String) -> [ConfigPathStep]? {
        guard keyPath.hasPrefix(prefix) else { return nil }
        var rest = Substring(keyPath.dropFirst(prefix.count))
        var components: [ConfigPathStep] = []
        while !rest.isEmpty {
            if rest.first == "." { rest = rest.dropFirst() }
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]"),
                    let index = Int(rest[rest.index(after: rest.startIndex)..<close])
                else { return nil }
                components.append(.index(index))
                rest = rest[rest.index(after: close)...]
                continue
            }
            let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
            guard end != rest.startIndex else { return nil }
            components.append(.key(String(rest[..<end])))
            rest = rest[end...]
        }
        return components.isEmpty ? nil : components
    }
}

extension ConfigNode {
    /// This node without the value at `path`, or nil when there is none there.
    func removing(_ path: [ConfigPathStep]) -> ConfigNode? {
        guard let first = path.first else { return nil }
        let rest = Array(path.dropFirst())
        switch (first, kind) {
        case (.key(let name), .mapping(var entries)):
            guard let position = entries.firstIndex(where: { $0.key == name }) else { return nil }
            if rest.isEmpty {
                entries.remove(at: position)
            } else {
                guard let pruned = entries[position].value.removing(rest) else { return nil }
                entries[position].value = pruned
            }
            return ConfigNode(.mapping(entries), at: location)
        case (.index(let index), .sequence(var items)):
            // A list item is never removed itself: the items after it would be renumbered, and the key
            // paths of their problems would name the wrong item.
            guard items.indices.contains(index), !rest.isEmpty, let pruned = items[index].removing(rest) else {
                return nil
            }
            items[index] = pruned
            return ConfigNode(.sequence(items), at: location)
        default:
            return nil
        }
    }
}
