// libFuzzer target for `Authorization: Basic` on the token endpoint: the handler's parser
// (`basicCredentials`) and the event loop's fast path (`plainBasicCredentials`) must never crash, and
// where the fast path reads credentials the handler must read the same ones (the fast path may only
// decline). Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz; `@testable` needs -enable-testing).

import FuzzDriver
import HTTPCore

@testable import TokenAuthority

@_cdecl("BasicCredentialsFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz(argc, argv) { input in
        // A header value arrives as the HTTP parser leaves it: decoded as UTF-8, trimmed of SP and HTAB.
        let header = String(decoding: input, as: UTF8.self)
        let fast = TokenEndpoint.plainBasicCredentials(header, clientAddress: "127.0.0.1")
        let head = HTTPRequestHead(
            method: .get, target: "/v2/token", path: "/v2/token", headers: HTTPHeaders([("Authorization", header)]))
        let handler = Result { () throws(TokenEndpointError) in
            try TokenEndpoint.basicCredentials(HTTPRequest(head: head))
        }
        guard let fast else { return }
        guard case .success(let slow?) = handler else {
            preconditionFailure("the fast path accepts Basic credentials the handler refuses")
        }
        precondition(
            slow.username == fast.username && slow.password == fast.password,
            "the fast path and the handler read different Basic credentials")
    }
}
