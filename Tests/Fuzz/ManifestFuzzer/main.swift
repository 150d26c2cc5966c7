// libFuzzer target for ManifestSummary.parse: any document under any served media type is a summary
// or a coded refusal, never a crash. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import FuzzDriver
import RegistryCore

/// The `Content-Type` the first byte picks: none, each known manifest type, or something else.
let servedTypes: [String?] = [nil, "application/json", "text/plain; charset=utf-8"] + ManifestMediaType.all

@_cdecl("ManifestFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        guard let control = input.first else { return }
        let served = servedTypes[Int(control) % servedTypes.count]
        guard let summary = try? ManifestSummary.parse(input.dropFirst(), servedMediaType: served) else { return }
        precondition(summary.children.count <= ManifestSummary.maximumChildren, "too many children")
        precondition(summary.imageSize.map { $0 >= 0 } ?? true, "negative image size")
        _ = summary.indexImageSize(childSizes: Dictionary(summary.children.map { ($0.digest, $0.size) }) { a, _ in a })
    }
}
