import Authorization
import Testing

@Suite struct ScopeTests {
    // MARK: What real clients send (registry-protocol.md)

    @Test func skopeoPullPushScopeParsesToOneRepositoryScope() {
        let result = ScopeParser.parse(["repository:alice/demo:pull,push"])
        #expect(result.scopes == [.repository("alice/demo", ["pull", "push"])])
        #expect(result.problems.isEmpty)
        #expect(result.ignoredCount == 0)
    }

    @Test func aLoginRequestWithoutScopeParsesToNothing() {
        let result = ScopeParser.parse([])
        #expect(result.scopes.isEmpty)
        #expect(result.problems.isEmpty)
    }

    @Test func crossRepositoryMountKeepsBothRepeatedScopesInOrder() {
        let result = ScopeParser.parse(["repository:alice/copy:pull,push", "repository:alice/demo:pull"])
        #expect(result.scopes == [.repository("alice/copy", ["pull", "push"]), .repository("alice/demo", ["pull"])])
    }

    @Test func theSameResourceWithActionsInAnotherOrderIsMergedIntoOne() {
        let result = ScopeParser.parse(["repository:alice/demo:pull,push", "repository:alice/demo:push,pull"])
        #expect(result.scopes == [.repository("alice/demo", ["pull", "push"])])
    }

    @Test func portusExampleOfSplitPushAndPullIsMergedWithTheUnionOfActions() {
        let result = ScopeParser.parse(["repository:busybox:push", "repository:busybox:pull"])
        #expect(result.scopes == [.repository("busybox", ["push", "pull"])])
    }

    @Test func dockerSpaceJoinedScopesInOneValueAreSplit() {
        let result = ScopeParser.parse(["repository:alice/demo:pull repository:alice/copy:pull,push"])
        #expect(result.scopes == [.repository("alice/demo", ["pull"]), .repository("alice/copy", ["pull", "push"])])
    }

    @Test func spaceJoinedAndRepeatedValuesMixAndMergeAcrossValues() {
        let result = ScopeParser.parse([
            "repository:a/b:pull  registry:catalog:*", " repository:a/b:push ", "repository:c:pull",
        ])
        #expect(result.scopes == [.repository("a/b", ["pull", "push"]), .catalog, .repository("c", ["pull"])])
    }

    @Test func aResourceClassIsDroppedAndMergesWithThePlainType() {
        let result = ScopeParser.parse(["repository(plugin):vieux/sshfs:pull", "repository:vieux/sshfs:push"])
        #expect(result.scopes == [.repository("vieux/sshfs", ["pull", "push"])])
    }

    @Test func catalogScopeParsesAsTheRegistryType() {
        let result = ScopeParser.parse(["registry:catalog:*"])
        #expect(result.scopes == [ResourceScope(type: "registry", name: "catalog", actions: ["*"])])
        #expect(result.scopes == [.catalog])
    }

    // MARK: Unknown but well-formed

    @Test func unknownTypesAndActionsStillParseSoThePolicyCanGrantThemNothing() {
        let result = ScopeParser.parse(["whale:foo:bar", "repository:alice/demo:fork,pull"])
        #expect(
            result.scopes == [
                ResourceScope(type: "whale", name: "foo", actions: ["bar"]),
                .repository("alice/demo", ["fork", "pull"]),
            ])
        #expect(result.problems.isEmpty)
    }

    @Test func emptyActionsAreSkippedAndAnEmptyListIsAScopeWithNoActions() {
        let result = ScopeParser.parse(["repository:a:pull,,push,", "repository:b:"])
        #expect(result.scopes == [.repository("a", ["pull", "push"]), .repository("b", [])])
        #expect(result.problems.isEmpty)
    }

    // MARK: Malformed

    @Test(arguments: [
        ("whale:foo,bar", ScopeProblem.Reason.missingParts),
        ("repository", .missingParts),
        ("repository:alice/demo", .missingParts),
        ("::", .invalidType),
        (":::", .invalidType),
        (":alice/demo:pull", .invalidType),
        ("Repository:alice/demo:pull", .invalidType),
        ("repository():a:pull", .invalidType),
        ("repository(plugin:a:pull", .invalidType),
        ("repository(Plugin):a:pull", .invalidType),
        ("repo sitory:a:pull", .missingParts),  // splits into "repo" and "sitory:a:pull"
        ("repository::pull", .invalidName),
        ("repository:Alice/demo:pull", .invalidName),
        ("repository:localhost:5000/foo:pull", .invalidName),
        ("repository:alice//demo:pull", .invalidName),
        ("repository:/alice:pull", .invalidName),
        ("repository:alice/:pull", .invalidName),
        ("repository:ålice/demo:pull", .invalidName),
        ("repository:alice/demo:PULL", .invalidAction),
        ("repository:alice/demo:pull,**", .invalidAction),
        ("repository:alice/demo:pull;rm", .invalidAction),
        ("repository:alice/demo:pull\u{0}", .invalidAction),
        ("repository:alice/demo:püll", .invalidAction),
    ])
    func malformedScopesAreReportedWithTheirReason(text: String, reason: ScopeProblem.Reason) {
        let result = ScopeParser.parse([text])
        #expect(result.problems.last?.reason == reason, "\(text)")
        if text != "repo sitory:a:pull" { #expect(result.scopes.isEmpty, "\(text)") }
    }

    @Test func oneMalformedScopeNeverAffectsTheOthers() {
        let result = ScopeParser.parse([
            "repository:alice/demo:pull", "whale:foo,bar", "repository:Bad/Name:pull repository:alice/copy:push",
        ])
        #expect(result.scopes == [.repository("alice/demo", ["pull"]), .repository("alice/copy", ["push"])])
        #expect(result.malformed == ["whale:foo,bar", "repository:Bad/Name:pull"])
    }

    @Test func problemsNameTheScopeInTheirMessage() {
        let problem = ScopeParser.parse(["whale:foo,bar"]).problems.first
        #expect(problem?.message == "scope 'whale:foo,bar' is not of the form type:name:actions")
    }

    @Test func echoedTextReplacesEveryByteOutsidePrintableASCII() {
        let result = ScopeParser.parse(["repository:\u{1B}[31mälice:pull\u{7F}"])
        #expect(result.malformed == ["repository:?[31m??lice:pull?"])
    }

    @Test func parseOneReportsTheSameAsParse() throws {
        #expect(try ScopeParser.parseOne("repository:a/b:pull").get() == .repository("a/b", ["pull"]))
        #expect(throws: ScopeProblem(text: "a:b", reason: .missingParts)) { try ScopeParser.parseOne("a:b").get() }
    }

    // MARK: Hostile input

    @Test(arguments: [[], [""], ["   "], [" ", "", "  "]])
    func emptyValuesGiveNoScopesAndNoProblems(values: [String]) {
        let result = ScopeParser.parse(values)
        #expect(result.scopes.isEmpty)
        #expect(result.problems.isEmpty)
        #expect(result.ignoredCount == 0)
    }

    @Test func aHugeScopeIsReportedTooLongAndEchoedShort() {
        let huge = "repository:" + String(repeating: "a", count: 1_000_000) + ":pull"
        let result = ScopeParser.parse([huge])
        #expect(result.scopes.isEmpty)
        #expect(result.problems.map(\.reason) == [.tooLong])
        #expect(result.malformed.first?.utf8.count == ScopeParser.maximumEchoedLength + 3)
        #expect(result.malformed.first?.hasSuffix("...") == true)
    }

    @Test func aHugeValueOfSpacesAndColonsIsHandled() {
        let result = ScopeParser.parse([String(repeating: " :: ", count: 100_000)])
        #expect(result.scopes.isEmpty)
        #expect(result.problems.count == ScopeParser.maximumScopeCount)
        #expect(result.ignoredCount == 100_000 - ScopeParser.maximumScopeCount)
    }

    @Test func scopesBeyondTheLimitAreCountedNotParsed() {
        let values = (0..<1000).map { "repository:ns/image\($0):pull" }
        let result = ScopeParser.parse(values)
        #expect(result.scopes.count == ScopeParser.maximumScopeCount)
        #expect(result.scopes.last == .repository("ns/image\(ScopeParser.maximumScopeCount - 1)", ["pull"]))
        #expect(result.ignoredCount == 1000 - ScopeParser.maximumScopeCount)
    }

    @Test func manyDuplicatesMergeIntoOneScope() {
        let result = ScopeParser.parse(Array(repeating: "repository:a:pull", count: 100) + ["repository:a:push"])
        #expect(result.scopes == [.repository("a", ["pull", "push"])])
    }

    @Test func aNameOfExactlyTheMaximumLengthIsAcceptedAndOneMoreIsNot() {
        let longest = String(repeating: "a", count: 127) + "/" + String(repeating: "b", count: 127)
        #expect(longest.utf8.count == 255)
        #expect(ScopeParser.parse(["repository:\(longest):pull"]).scopes.count == 1)
        #expect(ScopeParser.parse(["repository:\(longest)b:pull"]).problems.map(\.reason) == [.invalidName])
    }

    // MARK: Repository names (distribution spec)

    @Test(arguments: [
        "a", "0", "busybox", "alice/demo", "a/b/c", "a.b", "a_b", "a__b", "a-b", "a---b", "a.b-c_d__e/f9",
        "library/ubuntu", "x1-2.3_4",
    ])
    func validRepositoryNamesAreAccepted(name: String) {
        #expect(ScopeParser.isValidRepositoryName(name), "\(name)")
    }

    @Test(arguments: [
        "", "A", "a/", "/a", "a//b", "a..b", "a___b", "a._b", "a_.b", "a-_b", "a_-b", "-a", "a-", "_a", "a_", ".a",
        "a.", "a b", "a:b", "a\u{0}", "ä", "a/B", String(repeating: "a", count: 256),
    ])
    func invalidRepositoryNamesAreRefused(name: String) {
        #expect(!ScopeParser.isValidRepositoryName(name), "\(name)")
    }

    // MARK: Namespaces

    @Test(
        arguments: [
            ("busybox", nil, "busybox"), ("alice/demo", "alice", "demo"), ("a/b/c", "a", "b/c"),
        ] as [(String, String?, String)])
    func theNamespaceIsTheFirstComponentOfANameWithSeveral(name: String, namespace: String?, rest: String) {
        let scope = ResourceScope.repository(name, ["pull"])
        #expect(scope.namespaceName == namespace)
        #expect(scope.nameInNamespace == rest)
    }

    // MARK: Rendering

    @Test func renderingListsActionsInAFixedOrder() {
        #expect(ResourceScope.repository("alice/demo", ["push", "pull"]).render() == "repository:alice/demo:pull,push")
        #expect(
            ResourceScope.repository("a", ["fork", "*", "delete", "pull", "push", "bark"]).render()
                == "repository:a:pull,push,delete,*,bark,fork")
        #expect(ResourceScope.catalog.render() == "registry:catalog:*")
    }

    @Test func renderingSeveralScopesJoinsWithSpacesAndLeavesOutEmptyOnes() {
        let scopes: [ResourceScope] = [.repository("a", ["pull"]), .repository("b", []), .catalog]
        #expect(ResourceScope.render(scopes) == "repository:a:pull registry:catalog:*")
    }

    @Test func aRenderedScopeParsesBackToItself() {
        let scope = ResourceScope.repository("a.b/c-d/e__f", ["pull", "push", "delete", "*"])
        #expect(ScopeParser.parse([scope.render()]).scopes == [scope])
    }
}
