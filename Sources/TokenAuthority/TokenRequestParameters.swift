import HTTPCore

/// The token endpoint's single-valued parameters. A request that repeats one is refused with a 400 naming
/// it, instead of taking the first: a proxy, a log or another server that takes the last would otherwise
/// see a different request than the one decided (`account=alice&account=root`). `scope` legitimately
/// repeats and is not among them.
///
/// Both the handlers and the event-loop fast paths ask here, so they cannot disagree: the fast paths
/// decline a request with a repeat, and the handler answers it.
enum TokenRequestParameters {
    /// The `GET` query parameters that may appear once.
    static let singleInQuery = ["service", "account", "client_id", "offline_token"]
    /// The `POST` form fields that may appear once.
    static let singleInForm = [
        "grant_type", "service", "account", "client_id", "username", "password", "refresh_token", "access_type",
    ]

    /// Why `GET` with this query and these headers must be refused, or nil.
    static func repeatProblem(query: [(name: String, value: String)], headers: HTTPHeaders) -> TokenEndpointError? {
        problem(repeated: firstRepeated(in: query, among: singleInQuery), headers: headers)
    }

    /// Why `POST` with this form and these headers must be refused, or nil.
    static func repeatProblem(form: [(name: String, value: String)], headers: HTTPHeaders) -> TokenEndpointError? {
        problem(repeated: firstRepeated(in: form, among: singleInForm), headers: headers)
    }

    private static func problem(repeated name: String?, headers: HTTPHeaders) -> TokenEndpointError? {
        if let name {
            return .badRequest("the parameter '\(name)' is given more than once; send it once")
        }
        if hasRepeatedAuthorization(headers) {
            return .badRequest("the Authorization header is given more than once; send it once")
        }
        return nil
    }

    /// The first of `names` that occurs twice among `pairs` (names compare exactly, as they are read).
    static func firstRepeated(in pairs: [(name: String, value: String)], among names: [String]) -> String? {
        var seen: [String] = []
        for pair in pairs where names.contains(pair.name) {
            if seen.contains(pair.name) { return pair.name }
            seen.append(pair.name)
        }
        return nil
    }

    /// Whether more than one `Authorization` field arrived (any case of the name).
    static func hasRepeatedAuthorization(_ headers: HTTPHeaders) -> Bool {
        var count = 0
        for field in headers.fields where field.name.caseInsensitiveEquals("Authorization") {
            count += 1
            if count > 1 { return true }
        }
        return false
    }
}
