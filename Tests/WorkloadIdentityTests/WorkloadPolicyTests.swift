import Foundation
import Testing
import WorkloadIdentity

@Suite struct WorkloadPolicyTests {
    static let policy = WorkloadPolicy(
        name: "ci-acme-api", issuer: "github",
        require: [.init("repository_owner_id", "123456"), .init("repository_id", "456789")],
        match: [
            .init("ref", ["refs/heads/main", "refs/tags/v*"]),
            .init("job_workflow_ref", ["acme/api/.github/workflows/release.yml@*"]),
        ],
        deny: [.init("event_name", ["pull_request_target"])],
        grant: [.init(namespace: "acme", repositories: ["api", "api-*"], actions: [.pull, .push])])

    static let good: [String: String] = [
        "repository": "acme/api", "repository_owner_id": "123456", "repository_id": "456789",
        "ref": "refs/heads/main", "job_workflow_ref": "acme/api/.github/workflows/release.yml@refs/heads/main",
        "event_name": "push",
    ]

    @Test(
        arguments: [
            ([:], nil),
            (["ref": "refs/tags/v1.2.3"], nil),
            (["repository_id": "999999"], "require.repository_id"),
            (["repository_owner_id": "1"], "require.repository_owner_id"),
            (["ref": "refs/heads/feature"], "match.ref"),
            (["ref": "refs/heads/main-old"], "match.ref"),
            (["job_workflow_ref": "acme/api/.github/workflows/other.yml@refs/heads/main"], "match.job_workflow_ref"),
            (["event_name": "pull_request_target"], "deny.event_name"),
            (["event_name": "push", "ref": "refs/heads/x", "repository_id": "1"], "require.repository_id"),
        ] as [([String: String], String?)])
    func aTokenIsDecidedByTheFirstConditionThatFails(changes: [String: String], failed: String?) {
        let claims = WorkloadClaims(Self.good.merging(changes) { $1 })
        #expect(Self.policy.evaluate(claims).refusal?.failed == failed)
    }

    @Test func requireComparesBytesNotCanonicalEquivalence() {
        let policy = WorkloadPolicy(name: "p", issuer: "i", require: [.init("environment", "caf\u{E9}")], grant: [])
        #expect(policy.evaluate(WorkloadClaims(["environment": "caf\u{E9}"])) == .allowed)
        #expect(policy.evaluate(WorkloadClaims(["environment": "cafe\u{301}"])) == .refused(.require("environment")))
    }

    @Test(arguments: ["repository_id", "ref", "job_workflow_ref"])
    func aMissingClaimNeverMatches(claim: String) {
        var claims = Self.good
        claims[claim] = nil
        #expect(Self.policy.evaluate(WorkloadClaims(claims)) != .allowed)
    }

    @Test func aMissingDenyClaimDoesNotRefuse() {
        var claims = Self.good
        claims["event_name"] = nil
        #expect(Self.policy.evaluate(WorkloadClaims(claims)) == .allowed)
    }

    @Test func numbersAndBooleansAreComparedByTheirJSONText() throws {
        let payload =
            #"{"repository_owner_id":123456,"repository_id":456789,"ref":"refs/heads/main","#
            + #""job_workflow_ref":"acme/api/.github/workflows/release.yml@v1","ref_protected":true,"aud":["a","b"],"x":null}"#
        let claims = try #require(WorkloadClaims(payload: Array(payload.utf8)))
        #expect(claims["repository_id"] == "456789")
        #expect(claims["ref_protected"] == "true")
        #expect(claims["aud"] == nil && claims["x"] == nil, "arrays and null are not scalars")
        #expect(Self.policy.evaluate(claims) == .allowed)
        #expect(WorkloadClaims(payload: Array("[1]".utf8)) == nil)
    }

    @Test(arguments: [
        ("acme/api", ["pull", "push"], ["pull", "push"]),
        ("acme/api-web", ["pull", "push", "delete"], ["pull", "push"]),
        ("acme/apiary", ["pull"], []),
        ("other/api", ["pull"], []),
        ("api", ["pull"], []),
        ("acme/api/sub", ["pull"], []),
        ("acme/api-x/sub", ["push"], ["push"]),
    ])
    func theGrantIsTheIntersectionOfPolicyAndRequest(repository: String, requested: [String], granted: [String]) {
        #expect(Self.policy.grantedActions(onRepository: repository, requested: Set(requested)) == Set(granted))
    }

    @Test(arguments: [
        ("*", "", true), ("*", "anything/at/all", true), ("refs/tags/v*", "refs/tags/v1", true),
        ("refs/tags/v*", "refs/tags/x1", false), ("a*b*c", "aXXbYYc", true), ("a*b*c", "aXXbYY", false),
        ("exact", "exact", true), ("exact", "exactly", false), ("?", "x", false), ("**", "x", true),
    ])
    func globsHaveOnlyTheStar(pattern: String, text: String, matches: Bool) {
        #expect(Glob.matches(pattern, text) == matches)
    }

    @Test func aHostileGlobIsMatchedInLinearTime() {
        let pattern = String(repeating: "*a", count: 200) + "b"
        let text = String(repeating: "a", count: 5000)
        #expect(!Glob.matches(pattern, text))
    }

    @Test func theProfilesDemandTheirImmutableIDs() {
        var policy = WorkloadPolicy(name: "p", issuer: "i", require: [.init("repository", "acme/api")], grant: [])
        #expect(!WorkloadProfile.github.isPinned(policy))
        #expect(WorkloadProfile.generic.isPinned(policy))
        policy.require.append(.init("repository_owner_id", "1"))
        #expect(WorkloadProfile.github.isPinned(policy))
        #expect(!WorkloadProfile.gitlab.isPinned(policy))
    }
}

@Suite struct ClaimScanningTests {
    @Test(arguments: [
        (
            #"{"a":"x","n":-12.5e+3,"t":true,"f":false,"z":null}"#,
            ["a": "x", "n": "-12.5e+3", "t": "true", "f": "false"]
        ),
        (#" { "e" : "q\"\\\/\b\f\n\r\t" } "#, ["e": "q\"\\/\u{8}\u{C}\n\r\t"]),
        (#"{"u":"\u00e9\ud83d\ude00","raw":"é"}"#, ["u": "é😀", "raw": "é"]),
        (#"{"aud":["a",{"b":[1,2,{}],"c":null}],"o":{},"l":[],"s":"k"}"#, ["s": "k"]),
        (#"{}"#, [:]),
    ])
    func scalarsAreReadAndEverythingElseSkipped(json: String, expected: [String: String]) {
        #expect(WorkloadClaims(payload: Array(json.utf8))?.values == expected)
    }

    @Test(arguments: [
        #"{"a":"1","a":"2"}"#, #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"a":01}"#, #"{"a":"\x"}"#, #"{"a":"\ud83d"}"#,
        #"{"a":tru}"#, #"["a"]"#, #"{"a":1} {}"#, #"{"a":"unterminated}"#, "{\"a\":\"\u{1}\"}", #"{"a":{"b"}}"#,
        #"{"a":-}"#, #"{"a":1.}"#, #"{"a":1e}"#, "", #"{"a" 1}"#,
        "{\"a\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}",
    ])
    func anythingButOneObjectWithUniqueNamesIsRefused(json: String) {
        #expect(WorkloadClaims(payload: Array(json.utf8)) == nil)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(WorkloadClaims(payload: Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8)) == nil)
    }
}
