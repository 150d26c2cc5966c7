import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import Storage
import WorkloadIdentity

/// Why the token endpoint refused a request, with the status and an actionable message for the user.
enum TokenEndpointError: Error {
    case badRequest(String)
    case unknownService(String)
    case badCredentialsFormat
    case accountMismatch
    case rejected(RejectionReason)
    /// The password chain refused to check: the client address is over its guessing limits.
    case throttled(Throttling)
    case noAccount(String)
    /// A password for an account that has none (it signs in through an identity provider).
    case noPassword(tokensPage: String)
    /// Passwords are turned off at the registry (`login.passwordsAtRegistry: false`).
    case passwordsOff(tokensPage: String)
    /// Identity mapping refused the account (username clash, provisioning off, disabled); `code` is for audit.
    case refusedAccount(message: String, code: String)
    case providerUnavailable(String)
    case unsupportedGrant(String)
    /// A refresh token was refused; the reason goes to the audit log only, never to the client.
    case invalidGrant(RefreshRejection?)
    case internalFailure
    /// A CI job token was refused by trust policy `policy`; the client learns which condition failed (the job
    /// knows its own claims), never the policy's values.
    case workloadRefused(policy: String, WorkloadRefusal)
    /// The audit log cannot be written and `audit.waitForCommit` forbids issuing unaudited tokens.
    case auditUnavailable

    /// The HTTP status.
    var status: HTTPStatus {
        switch self {
        case .badRequest, .unknownService, .badCredentialsFormat, .unsupportedGrant, .invalidGrant: .badRequest
        case .accountMismatch, .noAccount, .refusedAccount, .noPassword, .passwordsOff, .workloadRefused: .unauthorized
        case .rejected(.rateLimited), .throttled: .tooManyRequests
        case .rejected: .unauthorized
        case .providerUnavailable, .auditUnavailable: .serviceUnavailable
        case .internalFailure: .internalServerError
        }
    }

    /// What the user reads (docker and skopeo print it after "unauthorized:").
    var message: String {
        switch self {
        case .badRequest(let text): text
        case .unknownService(let service):
            "unknown service '\(Self.echoed(service))': no registry with that service is configured"
        case .badCredentialsFormat: "the Authorization header must be Basic with base64 of username:password"
        case .accountMismatch: "the account parameter names another user than the credentials"
        case .rejected(.invalidCredentials): "invalid username or password"
        case .rejected(.locked(let until)):
            "account locked after too many failed logins until \(until.formatted(.iso8601))"
        case .rejected(.disabled): "account disabled"
        case .rejected(.rateLimited(let seconds)):
            "too many failed logins from this address; retry in \(seconds) seconds"
        case .rejected(.expired): "the application token expired or was revoked"
        case .throttled(let throttling) where throttling.cause == .concurrency:
            "too many password checks in progress from this address; retry in \(throttling.retryAfterSeconds) seconds"
        case .throttled(let throttling):
            "too many failed logins from this address; retry in \(throttling.retryAfterSeconds) seconds"
        case .noAccount(let provider): "no Portcullis account is linked to this \(provider) identity"
        case .noPassword(let page):
            "this account signs in through single sign-on and has no password: create an application token at "
                + "\(page) and use it as the password"
        case .passwordsOff(let page):
            "passwords are not accepted by this registry: create an application token at \(page) and use it as "
                + "the password"
        case .refusedAccount(let message, _): message
        case .providerUnavailable(let provider): "identity provider \(provider) unavailable; try again later"
        case .unsupportedGrant(let grant):
            "unsupported grant_type '\(Self.echoed(grant))'; use password or refresh_token"
        case .invalidGrant: "the refresh token is invalid, expired, revoked, or for another service"
        case .workloadRefused(let policy, let refusal):
            "the CI token was refused by trust policy '\(policy)' (\(refusal.failed))"
        case .internalFailure: "internal error; the request id identifies it in the server log"
        case .auditUnavailable: "the audit log is unavailable, so no token can be issued; try again later"
        }
    }

    /// The registry error code.
    var code: String {
        switch self {
        case .badRequest, .badCredentialsFormat: "BAD_REQUEST"
        case .unknownService: "UNSUPPORTED_SERVICE"
        // distribution's errcode for 429; docker and skopeo print the message either way.
        case .rejected(.rateLimited), .throttled: "TOOMANYREQUESTS"
        case .accountMismatch, .rejected, .noAccount, .refusedAccount, .invalidGrant, .noPassword, .passwordsOff,
            .workloadRefused:
            "UNAUTHORIZED"
        case .providerUnavailable, .auditUnavailable: "UNAVAILABLE"
        case .unsupportedGrant: "UNSUPPORTED"
        case .internalFailure: "INTERNAL_ERROR"
        }
    }

    /// The OAuth2 error (RFC 6749 §5.2) for POST answers.
    var oauthError: String {
        switch self {
        case .unsupportedGrant: "unsupported_grant_type"
        case .rejected, .invalidGrant, .accountMismatch, .noAccount, .refusedAccount, .noPassword, .passwordsOff,
            .workloadRefused:
            "invalid_grant"
        // RFC 6749 has no code for rate limits; the 429 status and Retry-After carry the meaning.
        case .throttled: "temporarily_unavailable"
        case .badRequest, .unknownService, .badCredentialsFormat: "invalid_request"
        case .providerUnavailable, .auditUnavailable: "temporarily_unavailable"
        case .internalFailure: "server_error"
        }
    }

    /// Why the request was refused, for the audit log: the message, plus what the client is not told.
    var auditReason: String {
        switch self {
        case .invalidGrant(let rejection?): "\(message) (\(rejection.rawValue))"
        case .refusedAccount(_, let code): "\(message) (\(code))"
        default: message
        }
    }

    /// Whether the refusal is audited: a throttled address only once per window (see `Throttling`), so a
    /// flood of refused attempts cannot flood the audit log.
    var isAudited: Bool {
        if case .throttled(let throttling) = self { return throttling.isFirstInWindow }
        return true
    }

    /// How the request is audited.
    var auditOutcome: AuditOutcome {
        switch self {
        case .providerUnavailable, .internalFailure, .auditUnavailable, .badRequest, .unknownService,
            .badCredentialsFormat,
            .unsupportedGrant:
            .failure
        default: .denied
        }
    }

    /// The response: the registry's error shape, plus the OAuth2 fields for POST.
    func response(oauth: Bool) -> HTTPResponse {
        var headers = HTTPHeaders()
        if case .rejected(.rateLimited(let seconds)) = self { headers.add(name: "Retry-After", value: String(seconds)) }
        if case .throttled(let throttling) = self {
            headers.add(name: "Retry-After", value: String(throttling.retryAfterSeconds))
        }
        var response = HTTPError(status, code: code, message: message, headers: headers).response()
        if oauth {
            // The registry's error document with the OAuth2 members in front: `{"error":…,"errors":[…]}`.
            response.body =
                Array(
                    #"{"error":\#(JSONText.quoted(oauthError)),"error_description":\#(JSONText.quoted(message)),"#.utf8)
                + response.body.dropFirst()
        }
        return response
    }

    /// Client text fit to quote in a message: at most 100 characters, anything but printable ASCII
    /// replaced by `?`, so a hostile parameter cannot bloat the answer or the audit log.
    static func echoed(_ text: String) -> String {
        let limit = 100
        let bytes = text.utf8.prefix(limit).map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }
        return String(decoding: bytes, as: UTF8.self) + (text.utf8.count > limit ? "..." : "")
    }
}
