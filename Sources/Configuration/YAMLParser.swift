import CYAML

/// Parses one YAML fragment into a ``ConfigNode`` tree with libyaml's event API.
///
/// This file is the only one touching `CYAML` and its pointers. The parser accepts exactly what
/// configuration needs: one document of mappings, sequences and scalars. Anchors, aliases, tags other
/// than `!!str` and several documents are rejected with a located issue rather than half-supported.
enum YAMLParser {
    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack of the
    /// recursive decoders that walk the tree later.
    static let maximumDepth = 64
    /// Fragments larger than this are refused before parsing.
    static let maximumSize = 4 << 20

    /// Parses `bytes` (the content of `file`) and returns the document's root node, `nil` for an empty
    /// fragment, or the issues that prevented parsing.
    static func parse(_ bytes: [UInt8], file: String) -> Result<ConfigNode?, ConfigurationError> {
        func refused(_ message: String) -> Result<ConfigNode?, ConfigurationError> {
            let start = SourceLocation(file: file, line: 1, column: 1)
            return .failure(ConfigurationError(ConfigIssue(.syntax, at: start, keyPath: "", message: message)))
        }
        if bytes.count > maximumSize { return refused("fragment is larger than \(maximumSize) bytes") }
        if let bad = TextEncoding.firstNonUTF8Byte(in: bytes) {
            let hex = String(bad.byte, radix: 16, uppercase: true)
            let issue = ConfigIssue(
                .syntax, at: SourceLocation(file: file, line: bad.line, column: bad.column), keyPath: "",
                message: "byte 0x\(hex) is not UTF-8; configuration files must be UTF-8 text")
            return .failure(ConfigurationError(issue))
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return refused("the YAML parser could not be initialised") }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer in
            // libyaml reads the input lazily, so the buffer must outlive every parse call: all
            // events are consumed inside this closure.
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var builder = TreeBuilder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    return .failure(ConfigurationError(builder.issues + [syntaxIssue(parser, file: file)]))
                }
                defer { yaml_event_delete(&event) }
                let location = SourceLocation(
                    file: file,
                    line: Int(event.start_mark.line) + 1,
                    column: Int(event.start_mark.column) + 1
                )
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    if !builder.issues.isEmpty { return .failure(ConfigurationError(builder.issues)) }
                    return .success(builder.root)
                case YAML_DOCUMENT_START_EVENT:
                    builder.documents += 1
                    if builder.documents > 1 {
                        return .failure(
                            builder.failure(
                                .unsupportedYAML,
                                at: location,
                                "a fragment holds one YAML document; split the others into their own files"
                            )
                        )
                    }
                case YAML_ALIAS_EVENT:
                    return .failure(
                        builder.failure(.unsupportedYAML, at: location, "YAML aliases (*name) are not supported")
                    )
                case YAML_SCALAR_EVENT:
                    let scalar = event.data.scalar
                    if let problem = unsupported(anchor: scalar.anchor, tag: scalar.tag, allowStringTag: true) {
                        return .failure(builder.failure(.unsupportedYAML, at: location, problem))
                    }
                    let text = String(
                        decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length),
                        as: UTF8.self
                    )
                    let isPlain =
                        scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.tag == nil
                    if let failure = builder.add(ConfigNode(.scalar(text, isPlain ? .plain : .quoted), at: location)) {
                        return .failure(failure)
                    }
                case YAML_SEQUENCE_START_EVENT:
                    let start = event.data.sequence_start
                    if let problem = unsupported(anchor: start.anchor, tag: start.tag, allowStringTag: false) {
                        return .failure(builder.failure(.unsupportedYAML, at: location, problem))
                    }
                    if let failure = builder.open(.sequence, at: location) { return .failure(failure) }
                case YAML_MAPPING_START_EVENT:
                    let start = event.data.mapping_start
                    if let problem = unsupported(anchor: start.anchor, tag: start.tag, allowStringTag: false) {
                        return .failure(builder.failure(.unsupportedYAML, at: location, problem))
                    }
                    if let failure = builder.open(.mapping, at: location) { return .failure(failure) }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let failure = builder.close() { return .failure(failure) }
                default:
                    break
                }
            }
        }
    }

    private static func unsupported(
        anchor: UnsafeMutablePointer<yaml_char_t>?,
        tag: UnsafeMutablePointer<yaml_char_t>?,
        allowStringTag: Bool
    ) -> String? {
        if let anchor {
            let name = String(cString: anchor)
            return "YAML anchors (&\(name)) are not supported; repeat the value instead"
        }
        if let tag {
            let name = String(cString: tag)
            if allowStringTag && name == "tag:yaml.org,2002:str" { return nil }
            return "YAML tags (\(name)) are not supported"
        }
        return nil
    }

    private static func syntaxIssue(_ parser: yaml_parser_t, file: String) -> ConfigIssue {
        var message = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        if let context = parser.context {
            message += " " + String(cString: context)
        }
        let mark = parser.problem_mark
        return ConfigIssue(
            .syntax,
            at: SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1),
            keyPath: "",
            message: "YAML syntax error: \(message)"
        )
    }
}

/// Assembles nodes from parser events with an explicit stack (no recursion on hostile depth).
private struct TreeBuilder {
    enum ContainerKind { case sequence, mapping }

    struct Frame {
        var kind: ContainerKind
        var location: SourceLocation
        var items: [ConfigNode] = []
        var entries: [ConfigNode.Entry] = []
        /// Key → where it was first written, so duplicate checks stay linear on huge mappings.
        var keyLocations: [String: SourceLocation] = [:]
        var pendingKey: (text: String, location: SourceLocation, discard: Bool)?
    }

    let file: String
    var documents = 0
    var root: ConfigNode?
    /// Problems that do not stop parsing (duplicate keys).
    var issues: [ConfigIssue] = []
    var stack: [Frame] = []

    init(file: String) { self.file = file }

    func failure(_ code: ConfigIssue.Code, at location: SourceLocation, _ message: String) -> ConfigurationError {
        ConfigurationError(issues + [ConfigIssue(code, at: location, keyPath: keyPath, message: message)])
    }

    /// The dotted path of the position being built, for issue messages.
    var keyPath: String {
        var path = ""
        for frame in stack {
            switch frame.kind {
            case .mapping:
                if let key = frame.pendingKey?.text { path += path.isEmpty ? key : "." + key }
            case .sequence:
                path += "[\(frame.items.count)]"
            }
        }
        return path
    }

    mutating func open(_ kind: ContainerKind, at location: SourceLocation) -> ConfigurationError? {
        if let top = stack.last, top.kind == .mapping, top.pendingKey == nil {
            return failure(
                .unsupportedYAML,
                at: location,
                "mapping keys must be plain text, not \(kind == .mapping ? "a mapping" : "a list")"
            )
        }
        if stack.count >= YAMLParser.maximumDepth {
            return failure(.unsupportedYAML, at: location, "nesting deeper than \(YAMLParser.maximumDepth) levels")
        }
        stack.append(Frame(kind: kind, location: location))
        return nil
    }

    mutating func close() -> ConfigurationError? {
        guard let frame = stack.popLast() else { return nil }
        let node: ConfigNode
        switch frame.kind {
        case .sequence: node = ConfigNode(.sequence(frame.items), at: frame.location)
        case .mapping: node = ConfigNode(.mapping(frame.entries), at: frame.location)
        }
        return add(node)
    }

    mutating func add(_ node: ConfigNode) -> ConfigurationError? {
        guard let index = stack.indices.last else {
            root = node.isNull ? nil : node
            return nil
        }
        switch stack[index].kind {
        case .sequence:
            stack[index].items.append(node)
        case .mapping:
            if let key = stack[index].pendingKey {
                if !key.discard {
                    stack[index].entries.append(ConfigNode.Entry(key: key.text, keyLocation: key.location, value: node))
                }
                stack[index].pendingKey = nil
            } else {
                // open() refuses container keys, so a key is always a scalar here.
                guard case .scalar(let text, _) = node.kind else { return nil }
                if let previous = stack[index].keyLocations[text] {
                    let path = keyPath
                    issues.append(
                        ConfigIssue(
                            .duplicateKey,
                            at: node.location,
                            keyPath: path.isEmpty ? text : path + "." + text,
                            message: "duplicate key '\(text)' (first written at \(previous))"
                        )
                    )
                    // Keep parsing so every problem is reported; the first value wins meanwhile.
                    stack[index].pendingKey = (text, node.location, true)
                } else {
                    stack[index].keyLocations[text] = node.location
                    stack[index].pendingKey = (text, node.location, false)
                }
            }
        }
        return nil
    }
}
