import Foundation
import RegistryCore
import Testing

private let digestA = "sha256:" + String(repeating: "a", count: 64)
private let digestB = "sha256:" + String(repeating: "b", count: 64)

/// A manifest push event as registry 2.8 sends it, with `overrides` merged into the event (a `nil` value removes
/// the key) and `targetOverrides` into its target.
private func event(
    _ overrides: [String: JSONValue?] = [:], target targetOverrides: [String: JSONValue?] = [:]
) -> JSONValue {
    var target: [String: JSONValue] = [
        "mediaType": .string("application/vnd.oci.image.manifest.v1+json"), "size": .integer(401),
        "digest": .string(digestA), "length": .integer(401), "repository": .string("alice/demo"),
        "url": .string("http://127.0.0.1:5000/v2/alice/demo/manifests/\(digestA)"), "tag": .string("v1"),
    ]
    for (key, value) in targetOverrides { target[key] = value }
    var object: [String: JSONValue] = [
        "id": .string("95810e25-0000"), "timestamp": .string("2026-11-22T12:25:18.784000378Z"),
        "action": .string("push"), "target": .object(target),
        "request": .object([
            "id": .string("a3bc"), "addr": .string("127.0.0.1:44218"), "host": .string("127.0.0.1:5000"),
            "method": .string("PUT"), "useragent": .string("skopeo/1.9.3"),
        ]),
        "actor": .object(["name": .string("alice")]),
        "source": .object(["addr": .string("vm:5000"), "instanceID": .string("b010")]),
    ]
    for (key, value) in overrides { object[key] = value }
    return .object(object)
}

@Suite struct NotificationParsingTests {
    @Test func aManifestPushIsTypedWithEveryField() throws {
        let parsed = try RegistryNotification.parse(event().jsonText).get()
        #expect(parsed.id == "95810e25-0000")
        #expect(parsed.action == .push)
        #expect(parsed.target.repository == "alice/demo")
        #expect(parsed.target.tag == "v1")
        #expect(parsed.target.digest == digestA)
        #expect(parsed.target.size == 401)
        #expect(parsed.target.isManifest)
        #expect(parsed.actor == "alice")
        #expect(parsed.request?.userAgent == "skopeo/1.9.3")
        #expect(parsed.sourceInstanceID == "b010")
        let expected = Date(timeIntervalSince1970: 1_795_350_318.784_000_378)
        #expect(abs(parsed.timestamp.timeIntervalSince(expected)) < 0.000_01)
    }

    @Test func anUntagEventWithoutDigestAndABlobPushAreAccepted() throws {
        let untag = try RegistryNotification.parse(
            event(["action": .string("delete")], target: ["digest": nil, "mediaType": nil, "size": nil]).jsonText
        ).get()
        #expect(untag.target.digest == nil)
        #expect(untag.target.tag == "v1")
        let blob = try RegistryNotification.parse(
            event(target: ["mediaType": .string("application/octet-stream"), "tag": nil]).jsonText
        ).get()
        #expect(!blob.target.isManifest)
    }

    @Test func anEmptyOrMissingActorIsUnknown() throws {
        #expect(try RegistryNotification.parse(event(["actor": .object([:])]).jsonText).get().actor == nil)
        #expect(try RegistryNotification.parse(event(["actor": nil]).jsonText).get().actor == nil)
        #expect(
            try RegistryNotification.parse(event(["actor": .object(["name": .string("")])]).jsonText).get().actor
                == nil)
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var name: String
        var event: JSONValue
        var code: NotificationError.Code
        var mentions: String
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "not an object", event: .array([]), code: .wrongType, mentions: "an array"),
        BadCase(name: "no id", event: event(["id": nil]), code: .missingField, mentions: "id"),
        BadCase(name: "numeric id", event: event(["id": .integer(7)]), code: .wrongType, mentions: "id"),
        BadCase(name: "empty id", event: event(["id": .string("")]), code: .invalidValue, mentions: "id"),
        BadCase(
            name: "huge id", event: event(["id": .string(String(repeating: "x", count: 300))]), code: .invalidValue,
            mentions: "id"),
        BadCase(
            name: "bad timestamp", event: event(["timestamp": .string("yesterday")]), code: .invalidValue,
            mentions: "timestamp"),
        BadCase(
            name: "timestamp without zone", event: event(["timestamp": .string("2026-11-22T12:25:18")]),
            code: .invalidValue, mentions: "timestamp"),
        BadCase(
            name: "February 30th", event: event(["timestamp": .string("2026-02-30T00:00:00Z")]), code: .invalidValue,
            mentions: "timestamp"),
        BadCase(
            name: "unknown action", event: event(["action": .string("explode")]), code: .unknownAction,
            mentions: "explode"),
        BadCase(name: "no target", event: event(["target": nil]), code: .missingField, mentions: "target"),
        BadCase(
            name: "target is a string", event: event(["target": .string("x")]), code: .wrongType, mentions: "target"),
        BadCase(
            name: "no repository", event: event(target: ["repository": nil]), code: .missingField,
            mentions: "target.repository"),
        BadCase(
            name: "uppercase repository", event: event(target: ["repository": .string("Alice/Demo")]),
            code: .invalidValue, mentions: "target.repository"),
        BadCase(
            name: "path traversal repository", event: event(target: ["repository": .string("../etc")]),
            code: .invalidValue, mentions: "target.repository"),
        BadCase(
            name: "bad digest", event: event(target: ["digest": .string("sha256:xyz")]), code: .invalidValue,
            mentions: "target.digest"),
        BadCase(
            name: "bad tag", event: event(target: ["tag": .string("-v1\n")]), code: .invalidValue,
            mentions: "target.tag"),
        BadCase(
            name: "negative size", event: event(target: ["size": .integer(-1)]), code: .invalidValue,
            mentions: "target.size"),
        BadCase(
            name: "fractional size", event: event(target: ["size": .number(1.5)]), code: .invalidValue,
            mentions: "target.size"),
        BadCase(
            name: "size as text", event: event(target: ["size": .string("401")]), code: .wrongType,
            mentions: "target.size"),
        BadCase(
            name: "push without digest", event: event(target: ["digest": nil]), code: .missingField,
            mentions: "target.digest"),
        BadCase(
            name: "delete with nothing",
            event: event(["action": .string("delete")], target: ["digest": nil, "tag": nil]),
            code: .missingField, mentions: "delete"),
        BadCase(
            name: "actor is a string", event: event(["actor": .string("alice")]), code: .wrongType, mentions: "actor"),
        BadCase(
            name: "references not an array", event: event(target: ["references": .object([:])]), code: .wrongType,
            mentions: "target.references"),
    ]

    @Test(arguments: badCases)
    func aBadEventIsRefusedNamingWhatIsWrong(_ bad: BadCase) {
        switch RegistryNotification.parse(bad.event.jsonText) {
        case .success: Issue.record("accepted \(bad.name)")
        case .failure(let error):
            #expect(error.code == bad.code)
            #expect(error.message.contains(bad.mentions))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func oneBadEventDoesNotSpoilItsSiblings() throws {
        let body = JSONValue.object([
            "events": .array([
                event(["id": .string("good-1")]), event(["id": .string("bad"), "action": .integer(3)]),
                .string("junk"), event(["id": .string("good-2")]),
            ])
        ]).jsonText
        let envelope = try NotificationEnvelope.parse(Array(body.utf8))
        #expect(envelope.entries.map(\.id) == ["good-1", "bad", nil, "good-2"])
        #expect(envelope.entries.map { (try? $0.result.get()) != nil } == [true, false, false, true])
        #expect(envelope.entries[2].payload == #""junk""#)
        #expect(try RegistryNotification.parse(envelope.entries[0].payload).get().id == "good-1")
    }

    struct BadEnvelope: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var code: NotificationError.Code
        var testDescription: String { name }
    }

    static let badEnvelopes: [BadEnvelope] = [
        BadEnvelope(name: "empty body", body: "", code: .invalidJSON),
        BadEnvelope(name: "truncated", body: #"{"events":[{"id":"#, code: .invalidJSON),
        BadEnvelope(name: "an array", body: "[]", code: .notAnEnvelope),
        BadEnvelope(name: "no events", body: #"{"event":[]}"#, code: .notAnEnvelope),
        BadEnvelope(name: "events not an array", body: #"{"events":{}}"#, code: .notAnEnvelope),
        BadEnvelope(name: "NUL byte", body: "{\"events\":[]}\u{0}", code: .invalidJSON),
        BadEnvelope(
            name: "deep nesting", body: String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
            code: .invalidJSON),
    ]

    @Test(arguments: badEnvelopes)
    func aBodyThatIsNoEnvelopeIsRefusedAsAWhole(_ bad: BadEnvelope) {
        let code: NotificationError.Code?
        do {
            _ = try NotificationEnvelope.parse(Array(bad.body.utf8))
            code = nil
        } catch {
            code = error.code
        }
        #expect(code == bad.code)
    }

    @Test func invalidUTF8IsRefusedNotTrapped() {
        #expect(throws: NotificationError.self) { _ = try NotificationEnvelope.parse([0x7B, 0xFF, 0xFE, 0x7D]) }
    }

    @Test func anEmptyEnvelopeHasNoEntries() throws {
        #expect(try NotificationEnvelope.parse(Array(#"{"events":[]}"#.utf8)).entries.isEmpty)
    }
}

@Suite struct NameGrammarTests {
    @Test func aFullNameSplitsAtItsFirstSlashAndAOneComponentNameIsGlobal() {
        #expect(RepositoryName.split("alice/demo") == ("alice", "demo"))
        #expect(RepositoryName.split("team/a/b") == ("team", "a/b"))
        #expect(RepositoryName.split("busybox") == (nil, "busybox"))
    }

    static let names: [(String, Bool)] = [
        ("alice/demo", true), ("library/busybox", true), ("a/b/c-d__e.f", true), ("a--b", true), ("a", true),
        ("", false), ("Alice", false), ("a//b", false), ("/a", false), ("a/", false), ("a_-b", false),
        ("a..b", false), ("../x", false), ("a b", false), (String(repeating: "a", count: 256), false),
    ]

    @Test(arguments: names)
    func repositoryNamesFollowTheRegistryGrammar(_ name: String, _ valid: Bool) {
        #expect(RepositoryName.isValid(name) == valid)
    }

    static let tags: [(String, Bool)] = [
        ("v1", true), ("latest", true), ("_x.y-Z", true), (String(repeating: "a", count: 128), true),
        ("", false), (".v1", false), ("-v1", false), ("v 1", false), ("v1/2", false),
        (String(repeating: "a", count: 129), false),
    ]

    @Test(arguments: tags)
    func tagsFollowTheRegistryGrammar(_ tag: String, _ valid: Bool) {
        #expect(TagName.isValid(tag) == valid)
    }

    static let digests: [(String, Bool)] = [
        (digestA, true), ("sha512:" + String(repeating: "0", count: 128), true), ("multihash+base58:QmRZxt2b", true),
        ("sha256:" + String(repeating: "A", count: 64), false), ("sha256:abc", false), ("sha256", false),
        (":abc", false), ("sha256:", false), ("SHA256:" + String(repeating: "a", count: 64), false),
        (digestB + "0", false),
    ]

    @Test(arguments: digests)
    func digestsFollowTheOCIGrammar(_ digest: String, _ valid: Bool) {
        #expect(ContentDigest.isValid(digest) == valid)
    }
}
