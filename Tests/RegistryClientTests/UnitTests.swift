import CryptoCore
import Foundation
import HTTPClient
import RegistryClient
import RegistryCore
import Synchronization
import Testing

/// A scripted `HTTPFetching`: answers from a list, recording each request.
final class ScriptedFetcher: HTTPFetching {
    private let state: Mutex<(answers: [InboundResponse], requests: [OutboundRequest])>

    init(_ answers: [InboundResponse]) { state = Mutex((answers, [])) }

    var requests: [OutboundRequest] { state.withLock { $0.requests } }

    func send(_ request: OutboundRequest) async throws -> InboundResponse {
        try state.withLock { state in
            state.requests.append(request)
            guard !state.answers.isEmpty else { throw HTTPClientError(.connectionFailed, message: "script exhausted") }
            return state.answers.removeFirst()
        }
    }
}

@Suite struct ClientUnitTests {
    private func client(_ fetcher: ScriptedFetcher, tokens: HandSignedTokens = HandSignedTokens()) -> HTTPRegistryClient {
        var configuration = HTTPRegistryClient.Configuration(name: "unit", baseURL: "https://registry.test/prefix/")
        configuration.initialBackoff = .milliseconds(1)
        return HTTPRegistryClient(configuration: configuration, http: fetcher, tokens: tokens)
    }

    @Test func theManifestRequestOffersAllFourMediaTypesWithAPullToken() async throws {
        let body = Array("{}".utf8)
        let digest = "sha256:" + Digest.sha256(body).map { String(format: "%02x", $0) }.joined()
        let fetcher = ScriptedFetcher([
            InboundResponse(
                status: 200, headers: [("Content-Type", ManifestMediaType.ociIndex), ("Docker-Content-Digest", digest)],
                body: body)
        ])
        let tokens = HandSignedTokens()
        let fetched = try #require(try await client(fetcher, tokens: tokens).manifest("ns/app", reference: digest))

        #expect(fetched.descriptor == ManifestDescriptor(digest: digest, mediaType: ManifestMediaType.ociIndex, length: 2))
        let request = try #require(fetcher.requests.first)
        #expect(request.url == "https://registry.test/prefix/v2/ns/app/manifests/\(digest)")
        let accept = request.headers.first { $0.name == "Accept" }?.value ?? ""
        #expect(Set(accept.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == Set(ManifestMediaType.all))
        #expect(tokens.requests.map { $0.map(\.description) } == [["repository:ns/app:pull"]])
    }

    @Test func aCachedTokenRefusedWithFourOhOneIsReplacedOnce() async throws {
        let page = Array(#"{"repositories":["a/b"]}"#.utf8)
        let fetcher = ScriptedFetcher([
            InboundResponse(status: 200, body: page), InboundResponse(status: 401), InboundResponse(status: 200, body: page),
        ])
        let tokens = HandSignedTokens()
        let client = client(fetcher, tokens: tokens)
        #expect(try await client.catalog() == ["a/b"])
        #expect(try await client.catalog() == ["a/b"])
        #expect(tokens.requests.count == 2)
    }

    @Test func aTokenCloseToExpiryIsRenewedBeforeUse() async throws {
        let page = Array(#"{"repositories":[]}"#.utf8)
        let fetcher = ScriptedFetcher([InboundResponse(status: 200, body: page), InboundResponse(status: 200, body: page)])
        // Twenty seconds left is inside the default thirty-second renewal margin.
        let tokens = HandSignedTokens(lifetime: 20)
        let client = client(fetcher, tokens: tokens)
        _ = try await client.catalog()
        _ = try await client.catalog()
        #expect(tokens.requests.count == 2)
    }

    @Test func deletionAnswersMapToTheirCodes() async throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let fetcher = ScriptedFetcher([
            InboundResponse(status: 202), InboundResponse(status: 405), InboundResponse(status: 404),
        ])
        let client = client(fetcher)
        try await client.deleteManifest("ns/app", digest: digest)
        await #expect(performing: { try await client.deleteManifest("ns/app", digest: digest) }, throws: hasCode(.deletionDisabled))
        await #expect(performing: { try await client.deleteManifest("ns/app", digest: digest) }, throws: hasCode(.notFound))
        #expect(fetcher.requests.allSatisfy { $0.method == .delete })
    }

    @Test func errorMessagesNameTheCallAndNeverCarryTheToken() async throws {
        let fetcher = ScriptedFetcher([InboundResponse(status: 403, body: Array(#"{"errors":[{"code":"DENIED"}]}"#.utf8))])
        do {
            _ = try await client(fetcher).tags(of: "ns/app")
            Issue.record("a 403 was accepted")
        } catch let error as RegistryAPIError {
            #expect(error.code == .unauthorized)
            #expect(error.message.contains("registry unit: tags of ns/app"))
            #expect(error.message.contains("DENIED"))
            #expect(!error.message.contains("Bearer"))
        }
    }

    @Test func theClientsSHA256MatchesOpenSSL() async throws {
        for length in [0, 1, 55, 56, 63, 64, 65, 1000, 70_000] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let expected = "sha256:" + Digest.sha256(bytes).map { String(format: "%02x", $0) }.joined()
            let fetcher = ScriptedFetcher([
                InboundResponse(status: 200, headers: [("Content-Type", ManifestMediaType.ociManifest)], body: bytes)
            ])
            // Fetched by digest without a digest header: only the client's own hash can accept the bytes.
            let fetched = try await client(fetcher).manifest("ns/app", reference: expected)
            #expect(fetched?.descriptor.digest == expected, "length \(length)")
        }
    }
}
