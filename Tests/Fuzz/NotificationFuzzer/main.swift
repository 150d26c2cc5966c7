// libFuzzer target for registry notification bodies (`NotificationEnvelope.parse`, JSONValue under
// it): any body is an envelope of events or a coded refusal, never a crash; every stored payload
// parses again to the same event. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import FuzzDriver
import RegistryCore

@_cdecl("NotificationFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        guard let envelope = try? NotificationEnvelope.parse(input) else { return }
        for entry in envelope.entries {
            // The payload is what the store keeps and the event worker reads later: it must read the same.
            let again = RegistryNotification.parse(entry.payload)
            switch (entry.result, again) {
            case (.success(let first), .success(let second)):
                precondition(first == second, "a stored event reads differently")
            case (.failure(let first), .failure(let second)):
                precondition(first.code == second.code, "a stored event is refused differently")
            default:
                preconditionFailure("a stored event changes between accepted and refused")
            }
        }
    }
}
