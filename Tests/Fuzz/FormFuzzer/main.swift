// libFuzzer target for URLEncodedForm (the OAuth2 token POST body): any bytes decode to pairs or
// to nil, never a crash, and never more pairs than fields. Built only with PORTCULLIS_FUZZ=1.

import FuzzDriver
import HTTPCore

@_cdecl("FormFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        guard let pairs = URLEncodedForm.decode(input) else { return }
        let fields = input.split(separator: UInt8(ascii: "&")).count
        precondition(pairs.count == fields, "\(pairs.count) pairs from \(fields) fields")
        // A decoded `%00` is refused, so no NUL can come from an escape; a raw NUL byte can pass
        // only where the body had one.
        if !input.contains(0) {
            precondition(!pairs.contains { $0.name.utf8.contains(0) || $0.value.utf8.contains(0) }, "NUL decoded")
        }
    }
}
