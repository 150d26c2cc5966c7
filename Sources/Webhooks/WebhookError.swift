import Diagnostics

/// Why a webhook could not be created, changed or redelivered: a stable code plus a reason for people.
///
/// Two errors are equal when their codes are, so `#expect(throws: WebhookError.invalidURL)` works.
public struct WebhookError: CodedError, Hashable, Sendable {
    /// The stable kind of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The URL is not an absolute `http`/`https` URL with a host, or carries credentials.
        case invalidURL = "webhook.invalid_url"
        /// A header is malformed (`Name: value`, a token name, no control characters).
        case invalidHeader = "webhook.invalid_header"
        /// A header Portcullis sets itself or that belongs to the connection (`Host`, `Content-Length`, hop-by-hop).
        case forbiddenHeader = "webhook.forbidden_header"
        /// The event list is empty or names an unknown event.
        case invalidEvents = "webhook.invalid_events"
        /// The format is neither `json` nor `cloudevents`.
        case invalidFormat = "webhook.invalid_format"
        /// No namespace has this name.
        case unknownNamespace = "webhook.unknown_namespace"
        /// No webhook has this id.
        case webhookNotFound = "webhook.not_found"
        /// No delivery has this id.
        case deliveryNotFound = "webhook.delivery_not_found"
        /// A stored secret or header value does not open with the configured `webhooks.secretsKey` (a wrong
        /// key, a changed value, or plain text where sealed text belongs); the delivery fails with this reason.
        case secretUnreadable = "webhook.secret_unreadable"
        /// Creating a webhook needs the secrets key, and none was given.
        case secretsKeyMissing = "webhook.secrets_key_missing"
    }

    /// The stable kind of failure.
    public let code: Code
    /// What exactly was wrong, for people (never a secret or header value).
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// An error with code `.invalidURL`, for matching.
    public static let invalidURL = WebhookError(.invalidURL)
    /// An error with code `.invalidHeader`, for matching.
    public static let invalidHeader = WebhookError(.invalidHeader)
    /// An error with code `.forbiddenHeader`, for matching.
    public static let forbiddenHeader = WebhookError(.forbiddenHeader)
    /// An error with code `.invalidEvents`, for matching.
    public static let invalidEvents = WebhookError(.invalidEvents)
    /// An error with code `.invalidFormat`, for matching.
    public static let invalidFormat = WebhookError(.invalidFormat)
    /// An error with code `.unknownNamespace`, for matching.
    public static let unknownNamespace = WebhookError(.unknownNamespace)
    /// An error with code `.webhookNotFound`, for matching.
    public static let webhookNotFound = WebhookError(.webhookNotFound)
    /// An error with code `.deliveryNotFound`, for matching.
    public static let deliveryNotFound = WebhookError(.deliveryNotFound)
    /// An error with code `.secretUnreadable`, for matching.
    public static let secretUnreadable = WebhookError(.secretUnreadable)
    /// An error with code `.secretsKeyMissing`, for matching.
    public static let secretsKeyMissing = WebhookError(.secretsKeyMissing)
}
