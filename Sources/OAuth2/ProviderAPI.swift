import Foundation
import HTTPFetchingCore
import IdentityCore

/// A provider's REST API read with a person's access token (GitHub's, Bitbucket's): bounded GETs through the
/// `OAuth2Client`, statuses turned into what a sign-in or a revalidation must tell apart, JSON decoded into the
/// plugin's types, and paginated lists read to the end, within bounds.
///
/// Status rules: 200 is the answer; 429, 5xx and a 403 with `X-RateLimit-Remaining: 0` are
/// `ProviderError(.unavailable)` (the caller applies its grace period); 401 and any other 403 throw
/// `ProviderAPI.TokenRefused` (the token was revoked, the account deleted or suspended), for the caller to
/// call a refusal or `.gone`; anything else is `.protocolViolation`.
public struct ProviderAPI: Sendable {
    /// The client whose bounds and errors every request shares.
    public let client: OAuth2Client
    /// The API root (no trailing slash); a pagination link outside it is never followed, so the access token is
    /// never sent elsewhere.
    public let root: String
    /// The provider's name in reasons (`GitHub`).
    public let providerName: String
    /// Headers every request carries besides `Authorization` (`Accept`, API versions).
    public let headers: [(name: String, value: String)]
    /// The most pages one list may take: a bound against a provider that links forever.
    public let maximumPages: Int

    /// The largest page accepted, in bytes.
    public static let maximumPageBytes = 1 << 20

    /// The provider refused the access token (401, or 403 without an exhausted rate limit).
    public struct TokenRefused: Error, CustomStringConvertible {
        /// The path asked.
        public var path: String
        /// The status answered.
        public var status: Int
        /// `HTTP 401 at /user`.
        public var description: String { "HTTP \(status) at \(path)" }
    }

    /// Creates an API reader.
    public init(
        client: OAuth2Client, root: String, providerName: String, headers: [(name: String, value: String)],
        maximumPages: Int = 50
    ) {
        self.client = client
        self.root = root
        self.providerName = providerName
        self.headers = headers
        self.maximumPages = maximumPages
    }

    private var provider: ProviderID { client.settings.provider }

    /// The answer at `root + path`, decoded as `Value`.
    public func object<Value: Decodable>(_ type: Value.Type, at path: String, accessToken: String) async throws
        -> Value
    {
        try decode(type, from: try await get(root + path, accessToken: accessToken, path: path), path: path)
    }

    /// Every item of the list at `root + path + query`: `read` gives each page's items and the absolute URL of
    /// the next page (nil on the last); at most `maximumPages` pages, each next link within `root`.
    public func allPages<Item>(
        _ path: String, query: String, accessToken: String,
        read: (InboundResponse, ProviderAPI) throws -> (items: [Item], next: String?)
    ) async throws -> [Item] {
        var items: [Item] = []
        var next: String? = root + path + query
        var pages = 0
        while let url = next {
            pages += 1
            guard pages <= maximumPages else {
                throw ProviderError(
                    .protocolViolation, provider: provider,
                    reason: "\(providerName)'s \(path) has more than \(maximumPages) pages; refusing to read on")
            }
            let page = try read(try await get(url, accessToken: accessToken, path: path), self)
            items += page.items
            next = page.next
            if let link = next, !ProviderAddress.isWithin(link, root: root) {
                throw ProviderError(
                    .protocolViolation, provider: provider,
                    reason: "\(providerName)'s \(path) links its next page outside the API root \(root)")
            }
        }
        return items
    }

    /// GETs `url` with the access token, bounded by the client's limits; see the type's status rules.
    public func get(_ url: String, accessToken: String, path: String) async throws -> InboundResponse {
        // A page of 100 GitHub teams, each with its organisation, can pass the client's 256 KiB for token answers.
        let request = OutboundRequest(
            method: .get, url: url, headers: headers + [("Authorization", "Bearer " + accessToken)],
            maxResponseBytes: Self.maximumPageBytes)
        let response = try await client.send(request, what: "\(providerName) API \(path)")
        switch response.status {
        case 200: return response
        case 429, 500...599:
            throw ProviderError(
                .unavailable, provider: provider, reason: "\(providerName)'s \(path) answered HTTP \(response.status)")
        case 403 where response.header("X-RateLimit-Remaining") == "0":
            throw ProviderError(
                .unavailable, provider: provider,
                reason: "\(providerName)'s rate limit is exhausted (\(path) answered HTTP 403)")
        case 401, 403: throw TokenRefused(path: path, status: response.status)
        default:
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "\(providerName)'s \(path) answered HTTP \(response.status)")
        }
    }

    /// Whether the API answers at all: `root + path` asked without a token, where any answer below 500 (a 401
    /// above all) means the provider is there; a transport failure or a 5xx is unhealthy. Never throws.
    public func checkHealth(path: String) async -> ProviderHealth {
        do {
            let response = try await client.send(
                OutboundRequest(method: .get, url: root + path, headers: headers), what: "\(providerName) API \(path)")
            guard response.status < 500 else {
                return ProviderHealth(
                    isHealthy: false, message: "\(providerName)'s \(root + path) answered HTTP \(response.status)")
            }
            return ProviderHealth(isHealthy: true, message: "\(providerName)'s API at \(root) answers")
        } catch let error as ProviderError {
            return ProviderHealth(isHealthy: false, message: error.reason)
        } catch {
            return ProviderHealth(isHealthy: false, message: "\(error)")
        }
    }

    /// `response`'s body decoded as `Value`; a body of another shape is `.protocolViolation`.
    public func decode<Value: Decodable>(_ type: Value.Type, from response: InboundResponse, path: String) throws
        -> Value
    {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "\(providerName)'s \(path) answered JSON of another shape")
        }
    }
}
