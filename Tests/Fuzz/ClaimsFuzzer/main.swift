// libFuzzer target for WorkloadClaims(payload:): the claims of a CI job token, scanned by JSONObjectScanner, must
// never crash or hang, and whatever it accepts must survive a round trip: its members written back as a JSON
// object scan again to the same members. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import FuzzDriver
import WorkloadIdentity

@_cdecl("ClaimsFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        guard let claims = WorkloadClaims(payload: input) else { return }
        let rendered =
            "{"
            + claims.values.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + quoted($0.value) }
            .joined(separator: ",") + "}"
        guard let again = WorkloadClaims(payload: Array(rendered.utf8)) else {
            preconditionFailure("accepted claims render to a payload that is refused: \(rendered)")
        }
        precondition(again.values == claims.values, "claims change when rendered and scanned again")
    }
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
