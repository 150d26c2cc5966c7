import Foundation
import RegistryClient
import RegistryCore
import Testing

/// The client against a scripted misbehaving server: retries, Link loops, size caps, timeouts.
@Suite(.enabled(if: ScriptedServer.isInstalled, "python3 missing"))
struct FaultTests {
    @Test func fiveHundredsAreRetriedUntilTheRegistryAnswers() async throws {
        let server = try await ScriptedServer()
        #expect(try await server.client("flaky").catalog() == ["after/retries"])
        #expect(try await server.hits("flaky") == 3)
    }

    @Test func persistentFiveHundredsStopAfterTheBoundedAttempts() async throws {
        let server = try await ScriptedServer()
        let client = server.client("broken") { $0.maxAttempts = 3 }
        await #expect(performing: { try await client.catalog() }, throws: hasCode(.serverError))
        #expect(try await server.hits("broken") == 3)
    }

    @Test func fourHundredsAreNotRetried() async throws {
        let server = try await ScriptedServer()
        await #expect(performing: { try await server.client("teapot").catalog() }, throws: hasCode(.badResponse))
        #expect(try await server.hits("teapot") == 1)
    }

    @Test func aRefusedFreshTokenIsUnauthorizedAfterOneTry() async throws {
        let server = try await ScriptedServer()
        let tokens = HandSignedTokens()
        await #expect(performing: { try await server.client("refused", tokens: tokens).catalog() }, throws: hasCode(.unauthorized))
        #expect(try await server.hits("refused") == 1)
        #expect(tokens.requests.count == 1)
    }

    @Test func aDroppedConnectionIsRetried() async throws {
        let server = try await ScriptedServer()
        #expect(try await server.client("dropfirst").catalog() == ["after/drop"])
        #expect(try await server.hits("dropfirst") == 2)
    }

    @Test func absoluteAndRelativeNextLinksAreBothFollowed() async throws {
        let server = try await ScriptedServer()
        #expect(try await server.client("paged").catalog() == ["a/1", "a/2", "b/3", "b/4", "c/5"])
    }

    @Test func tagPagesAreFollowedToTheEnd() async throws {
        let server = try await ScriptedServer()
        #expect(try await server.client("tagpages") { $0.pageSize = 2 }.tags(of: "ns/app") == ["1.0", "1.1", "2.0", "2.1", "3.0"])
        #expect(try await server.hits("tagpages") == 3)
    }

    @Test func aLinkLoopIsAnErrorNotAHang() async throws {
        let server = try await ScriptedServer()
        await #expect(performing: { try await server.client("loop").catalog() }, throws: hasCode(.badResponse))
        #expect(try await server.hits("loop") == 2)
    }

    @Test func aNextLinkToAnotherOriginIsRefused() async throws {
        let server = try await ScriptedServer()
        await #expect(performing: { try await server.client("foreign").catalog() }, throws: hasCode(.badResponse))
        #expect(try await server.hits("foreign") == 1)
    }

    @Test func aListingWhoseLaterPageFailsIsAnErrorNotAPartialAnswer() async throws {
        let server = try await ScriptedServer()
        let client = server.client("partial") { $0.maxAttempts = 2 }
        await #expect(performing: { try await client.catalog() }, throws: hasCode(.serverError))
    }

    @Test func anOversizedPageIsRefused() async throws {
        let server = try await ScriptedServer()
        let client = server.client("big") { $0.maxPageBytes = 64 << 10 }
        await #expect(performing: { try await client.catalog() }, throws: hasCode(.badResponse))
        #expect(try await server.hits("big") == 1)
    }

    @Test func aSlowRegistryHitsTheTimeoutOnEveryAttempt() async throws {
        let server = try await ScriptedServer()
        let client = server.client("slow") {
            $0.timeout = .milliseconds(300)
            $0.maxAttempts = 2
        }
        await #expect(performing: { try await client.catalog() }, throws: hasCode(.timeout))
        #expect(try await server.hits("slow") == 2)
    }

    @Test func aPageThatIsNotJSONIsABadResponse() async throws {
        let server = try await ScriptedServer()
        await #expect(performing: { try await server.client("garbage").catalog() }, throws: hasCode(.badResponse))
    }

    @Test func aManifestWhoseBytesDoNotMatchItsDigestIsRefused() async throws {
        let server = try await ScriptedServer()
        let client = server.client("liar")
        let digest = "sha256:" + String(repeating: "0", count: 64)
        await #expect(performing: { try await client.manifest("a/b", reference: digest) }, throws: hasCode(.badResponse))
        await #expect(performing: { try await client.manifest("a/b", reference: "v1") }, throws: hasCode(.badResponse))
    }

    @Test func aHeadWithoutADigestHeaderIsABadResponse() async throws {
        let server = try await ScriptedServer()
        await #expect(
            performing: { try await server.client("nodigest").headManifest("a/b", reference: "v1") },
            throws: hasCode(.badResponse))
    }

    @Test func namesThatCouldSteerTheURLNeverLeaveTheClient() async throws {
        let server = try await ScriptedServer()
        let client = server.client("names")
        for name in ["../etc", "a/../b", "A/b", "a//b", "a/b?x=1", "a%2Fb", "", "a/b#c", "a b"] {
            await #expect("\(name)", performing: { try await client.tags(of: name) }, throws: hasCode(.notFound))
        }
        for reference in ["../x", "v1/../x", "sha256:xyz", "a b", ""] {
            await #expect(
                "\(reference)", performing: { try await client.headManifest("a/b", reference: reference) },
                throws: hasCode(.notFound))
        }
        await #expect(performing: { try await client.deleteManifest("a/b", digest: "latest") }, throws: hasCode(.notFound))
        #expect(try await server.hits("names") == 0)
    }
}
