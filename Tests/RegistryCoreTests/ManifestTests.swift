import Foundation
import RegistryCore
import Testing

private func digest(_ character: Character) -> String { "sha256:" + String(repeating: character, count: 64) }

@Suite struct ManifestSummaryTests {
    private static let dockerImage = """
        {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
         "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"\(digest("c"))"},
         "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2818413,"digest":"\(digest("1"))"},
                   {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"\(digest("2"))"}]}
        """

    private static let ociIndex = """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":"\(digest("a"))",
           "platform":{"os":"linux","architecture":"amd64"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":501,"digest":"\(digest("b"))",
           "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":566,"digest":"\(digest("d"))",
           "platform":{"os":"unknown","architecture":"unknown"},
           "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"\(digest("a"))"}}
        ]}
        """

    @Test func anImageManifestSizeIsConfigPlusLayers() throws {
        let summary = try ManifestSummary.parse(Array(Self.dockerImage.utf8), servedMediaType: nil)
        #expect(summary.kind == .image)
        #expect(summary.mediaType == ManifestMediaType.dockerManifest)
        #expect(summary.imageSize == Int64(1469 + 2_818_413 + 100))
        #expect(summary.platforms.isEmpty)
    }

    @Test func anOCIManifestWithoutMediaTypeTakesTheServedOneOrItsShape() throws {
        let body = #"{"schemaVersion":2,"config":{"size":10,"digest":"x"},"layers":[{"size":5}]}"#
        let served = try ManifestSummary.parse(
            Array(body.utf8), servedMediaType: "application/vnd.oci.image.manifest.v1+json; charset=utf-8")
        #expect(served.mediaType == ManifestMediaType.ociManifest)
        #expect(served.imageSize == 15)
        let shaped = try ManifestSummary.parse(Array(body.utf8), servedMediaType: "application/json")
        #expect(shaped.mediaType == ManifestMediaType.ociManifest)
    }

    @Test func anIndexListsPlatformsAndChildrenButNotAttestations() throws {
        let summary = try ManifestSummary.parse(Array(Self.ociIndex.utf8), servedMediaType: nil)
        #expect(summary.kind == .index)
        #expect(summary.platforms == ["linux/amd64", "linux/arm/v7"])
        #expect(summary.children.map(\.digest) == [digest("a"), digest("b")])
        #expect(summary.imageSize == nil)
        #expect(summary.indexImageSize(childSizes: [digest("a"): 1000, digest("b"): 2000]) == 3000)
        #expect(summary.indexImageSize(childSizes: [digest("a"): 1000]) == nil)
        #expect(summary.indexImageSize(childSizes: [digest("a"): .max, digest("b"): 1]) == nil)
    }

    @Test func aDockerManifestListIsAnIndex() throws {
        let body = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
              {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":7,"digest":"\(digest("e"))",
               "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}
            """
        let summary = try ManifestSummary.parse(Array(body.utf8), servedMediaType: nil)
        #expect(summary.kind == .index)
        #expect(summary.platforms == ["linux/arm64/v8"])
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var code: ManifestError.Code
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "not JSON", body: "{", code: .invalidJSON),
        BadCase(name: "an array", body: "[]", code: .malformed),
        BadCase(name: "schema 1", body: #"{"schemaVersion":1,"fsLayers":[]}"#, code: .unsupported),
        BadCase(name: "unknown media type", body: #"{"mediaType":"text/plain"}"#, code: .unsupported),
        BadCase(name: "media type number", body: #"{"mediaType":5}"#, code: .malformed),
        BadCase(
            name: "no config", body: #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#,
            code: .malformed),
        BadCase(
            name: "negative layer",
            body:
                #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":1},"layers":[{"size":-5}]}"#,
            code: .malformed),
        BadCase(
            name: "overflowing layers",
            body: """
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":9223372036854775807},
                 "layers":[{"size":1}]}
                """, code: .malformed),
        BadCase(
            name: "index child without digest",
            body: #"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"size":1}]}"#,
            code: .malformed),
        BadCase(
            name: "index platform without os",
            body: """
                {"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
                  {"size":1,"digest":"\(digest("a"))","platform":{"architecture":"amd64"}}]}
                """, code: .malformed),
        BadCase(
            name: "index platform with slash",
            body: """
                {"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
                  {"size":1,"digest":"\(digest("a"))","platform":{"os":"linux/x","architecture":"amd64"}}]}
                """, code: .malformed),
    ]

    @Test(arguments: badCases)
    func aBadManifestIsRefusedWithItsCode(_ bad: BadCase) {
        let code: ManifestError.Code?
        do {
            _ = try ManifestSummary.parse(Array(bad.body.utf8), servedMediaType: nil)
            code = nil
        } catch {
            code = error.code
        }
        #expect(code == bad.code)
    }

    @Test func anIndexWithTooManyChildrenIsRefused() {
        let child = #"{"size":1,"digest":"\#(digest("a"))"}"#
        let body =
            #"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":["#
            + Array(repeating: child, count: ManifestSummary.maximumChildren + 1).joined(separator: ",") + "]}"
        #expect(throws: ManifestError.self) { _ = try ManifestSummary.parse(Array(body.utf8), servedMediaType: nil) }
    }
}
