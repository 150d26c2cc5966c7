import Testing

@testable import Configuration

@Suite struct YAMLParsingTests {
    private func parse(_ text: String) -> Result<ConfigNode?, ConfigurationError> {
        YAMLParser.parse(Array(text.utf8), file: "f.yaml")
    }

    @Test func everyNodeKnowsItsOneBasedLineAndColumn() throws {
        let root = try #require(try parse("server:\n  listen: \"a:1\"\n  list:\n    - x\n").get())
        #expect(root.location == SourceLocation(file: "f.yaml", line: 1, column: 1))
        let server = try #require(root.entries?.first)
        #expect(server.keyLocation == SourceLocation(file: "f.yaml", line: 1, column: 1))
        let listen = try #require(server.value.entries?.first)
        #expect(listen.keyLocation == SourceLocation(file: "f.yaml", line: 2, column: 3))
        #expect(listen.value.location == SourceLocation(file: "f.yaml", line: 2, column: 11))
        #expect(listen.value.kind == .scalar("a:1", .quoted))
        let item = try #require(server.value["list"]?.items?.first)
        #expect(item.location == SourceLocation(file: "f.yaml", line: 4, column: 7))
        #expect(item.kind == .scalar("x", .plain))
    }

    @Test func quotedAndBlockScalarsAreStringsAndPlainOnesAreNot() throws {
        let root = try #require(try parse("a: 'true'\nb: true\nc: |\n  text\nd: !!str 5\n").get())
        #expect(root["a"]?.kind == .scalar("true", .quoted))
        #expect(root["b"]?.kind == .scalar("true", .plain))
        #expect(root["c"]?.kind == .scalar("text\n", .quoted))
        #expect(root["d"]?.kind == .scalar("5", .quoted))
    }

    @Test func anEmptyFragmentHasNoRoot() throws {
        #expect(try parse("").get() == nil)
        #expect(try parse("# only a comment\n").get() == nil)
        #expect(try parse("---\n").get() == nil)
    }

    @Test func aSyntaxErrorNamesItsPosition() {
        guard case .failure(let error) = parse("a: [1, 2\nb: 3\n") else {
            Issue.record("expected a syntax error")
            return
        }
        #expect(error.issues.count == 1)
        #expect(error.issues[0].code == .syntax)
        #expect(error.issues[0].file == "f.yaml")
        #expect(error.issues[0].line == 2)
        #expect(error.issues[0].description.hasPrefix("f.yaml:2:"))
    }

    @Test(arguments: [
        ("a: &x 1\nb: 2\n", 1, 4, "anchors"),
        ("a: 1\nb: *x\n", 2, 4, "aliases"),
        ("a: 1\n---\nb: 2\n", 2, 1, "one YAML document"),
        ("a: !custom 1\n", 1, 4, "tags"),
        ("? [a]\n: 1\n", 1, 3, "mapping keys must be plain text"),
    ])
    func unsupportedYAMLIsRejectedWithItsPosition(text: String, line: Int, column: Int, fragment: String) {
        guard case .failure(let error) = parse(text) else {
            Issue.record("expected \(fragment) to be refused")
            return
        }
        let issue = error.issues.last
        #expect(issue?.code == .unsupportedYAML || issue?.code == .syntax)
        #expect(issue?.line == line)
        #expect(issue?.column == column)
        #expect(issue?.message.contains(fragment) == true)
    }

    @Test func duplicateKeysAreReportedWithBothPositions() {
        guard case .failure(let error) = parse("server:\n  listen: a\n  port: 1\n  listen: b\n  port: 2\n") else {
            Issue.record("expected duplicate keys to be refused")
            return
        }
        #expect(
            error.issues.map(\.description) == [
                "f.yaml:4:3: server.listen: duplicate key 'listen' (first written at f.yaml:2:3)",
                "f.yaml:5:3: server.port: duplicate key 'port' (first written at f.yaml:3:3)",
            ]
        )
    }

    @Test func hostileNestingIsRefusedNotRecursedInto() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        guard case .failure(let error) = parse(deep) else {
            Issue.record("expected deep nesting to be refused")
            return
        }
        #expect(error.issues.first?.message.contains("nesting deeper") == true)
    }

    @Test func invalidUTF8IsASyntaxErrorNotACrash() {
        let result = YAMLParser.parse([0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A], file: "f.yaml")
        guard case .failure(let error) = result else {
            Issue.record("expected invalid UTF-8 to be refused")
            return
        }
        #expect(error.issues.first?.code == .syntax)
    }

    @Test func renderedNodesParseBackToTheSameValues() throws {
        let text = "a:\n  - 1\n  - \"two: x\"\n  - {b: c}\nd: \"\"\ne: 'it''s'\n"
        let root = try #require(try parse(text).get())
        let again = try #require(try parse(root.description).get())
        #expect(YAMLRenderer.render(node: again) == YAMLRenderer.render(node: root))
        #expect(again["e"]?.scalarText == "it's")
        #expect(again["a"]?.items?[1].scalarText == "two: x")
    }

    @Test func aHugeMappingIsCheckedForDuplicatesInLinearTime() {
        let keys = (0..<50_000).map { "k\($0): \($0)\n" }.joined()
        guard case .success(let root?) = parse(keys + "k7: again\n") else {
            if case .failure(let error) = parse(keys + "k7: again\n") {
                #expect(
                    error.issues.map(\.description) == [
                        "f.yaml:50001:1: k7: duplicate key 'k7' (first written at f.yaml:8:1)"
                    ])
            }
            return
        }
        Issue.record("the duplicate was not found among \(root.entries?.count ?? 0) keys")
    }
}
