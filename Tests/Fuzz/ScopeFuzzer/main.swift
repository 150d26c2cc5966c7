// libFuzzer target for ScopeParser: the `scope` parameters of a token request (one per line of the
// input) must parse without crashing, within the request's bounds, and every scope it accepts must
// render to text that parses back to the same scope. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import Authorization
import FuzzDriver

@_cdecl("ScopeFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        let values = input.pieces(separatedBy: UInt8(ascii: "\n"), limit: 16).map {
            String(decoding: $0, as: UTF8.self)
        }
        let result = ScopeParser.parse(values)
        precondition(result.scopes.count + result.problems.count <= ScopeParser.maximumScopeCount, "too many scopes")
        for scope in result.scopes {
            let text = scope.render()
            guard case .success(let reparsed) = ScopeParser.parseOne(text) else {
                preconditionFailure("a parsed scope renders to text that does not parse: \(text)")
            }
            precondition(reparsed == scope, "a scope changes when rendered and parsed again: \(text)")
        }
        // What is echoed back to the client is short, printable ASCII whatever was sent.
        for problem in result.problems {
            precondition(problem.text.utf8.count <= ScopeParser.maximumEchoedLength + 3, "echo too long")
            precondition(problem.text.utf8.allSatisfy { (0x20...0x7E).contains($0) }, "echo not printable")
        }
    }
}
