import Foundation
import RegistryCore
import Testing

/// Mutated copies of valid documents: parsing must answer (a value or an error), never trap or hang.
@Suite struct HostileInputTests {
    /// A small deterministic generator (SplitMix64), so a failure can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let envelope = Array(
        """
        {"events":[{"id":"95810e25","timestamp":"2026-11-22T12:25:18.784000378Z","action":"push",
         "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":401,
          "digest":"sha256:\(String(repeating: "b", count: 64))","length":401,"repository":"alice/demo",
          "url":"http://127.0.0.1:5000/v2/alice/demo/manifests/x","tag":"v1","references":[]},
         "request":{"id":"a3bc","addr":"127.0.0.1:44218","host":"127.0.0.1:5000","method":"PUT","useragent":"skopeo"},
         "actor":{"name":"alice"},"source":{"addr":"vm:5000","instanceID":"b010"}}]}
        """.utf8)

    static let index = Array(
        """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,
           "digest":"sha256:\(String(repeating: "a", count: 64))","platform":{"os":"linux","architecture":"amd64"}}]}
        """.utf8)

    static let interesting: [UInt8] = Array(#"{}[]",:0-9.eE+-\ "#.utf8) + [0x00, 0xFF, 0xC3, 0x80, 0x0A]

    private static func mutate(_ document: [UInt8], with generator: inout SplitMix) -> [UInt8] {
        var bytes = document
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            let position = Int.random(in: 0..<max(1, bytes.count), using: &generator)
            let byte = interesting.randomElement(using: &generator)!
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !bytes.isEmpty: bytes[position] = byte
            case 1: bytes.insert(byte, at: min(position, bytes.count))
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            default: bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }

    @Test func mutatedEnvelopesAreParsedOrRefusedWithoutTrapping() {
        var generator = SplitMix(state: 4)
        var parsed = 0
        for _ in 0..<2_000 {
            let body = Self.mutate(Self.envelope, with: &generator)
            if let envelope = try? NotificationEnvelope.parse(body) {
                parsed += 1
                for entry in envelope.entries {
                    // What the endpoint stores must read back to the same verdict in the worker.
                    let again = RegistryNotification.parse(entry.payload)
                    #expect((try? again.get()) == (try? entry.result.get()))
                }
            }
        }
        #expect(parsed > 0)
    }

    @Test func mutatedManifestsAreSummarizedOrRefusedWithoutTrapping() {
        var generator = SplitMix(state: 7)
        for _ in 0..<2_000 {
            let body = Self.mutate(Self.index, with: &generator)
            if let summary = try? ManifestSummary.parse(body, servedMediaType: nil) {
                #expect(summary.children.count <= ManifestSummary.maximumChildren)
            }
        }
    }
}
