// libFuzzer target for configuration fragments: libyaml through YAMLParser on raw bytes, then (when
// that reads a mapping) the whole loader on the same fragment; every outcome is a configuration or issues with locations, never
// a crash or a hang. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz; `@testable` needs -enable-testing).

import FuzzDriver

@testable import Configuration

@_cdecl("YAMLConfigFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        // The loader costs about a hundred times what libyaml does (it builds and checks every
        // section), and on anything but a mapping it only reports the parser's refusal or "not a
        // mapping", so it runs on mappings only, where its own checks begin.
        guard case .success(let root?) = YAMLParser.parse(input, file: "fuzz.yaml"), case .mapping = root.kind
        else { return }
        do throws(ConfigurationError) {
            _ = try ConfigurationLoader.load(
                fragments: [ConfigurationFragment(name: "fuzz.yaml", text: String(decoding: input, as: UTF8.self))])
        } catch {
            precondition(!error.issues.isEmpty, "a refused configuration names no issue")
        }
    }
}
