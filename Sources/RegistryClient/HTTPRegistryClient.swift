import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import RegistryCore

/// A `RegistryAPI` over HTTP (libcurl's `CurlHTTPClient` in production), presenting a token it mints
/// for exactly the scope of each call.
///
/// Listings follow `Link: <…>; rel="next"` until the end and are complete or an error. 5xx answers and
/// network failures are retried with exponential backoff and jitter, a bounded number of times; 4xx
/// answers are final. Every error is a `RegistryAPIError` whose message names the registry and the
/// call, never a token.
public final class HTTPRegistryClient: RegistryAPI {
    /// Where the registry is and how patient the client is with it.
    public struct Configuration: Sendable {
        /// The registry's configured name, used in error messages and logs.
        public var name: String
        /// The base URL (`http(s)://host[:port][/prefix]`); `/v2/…` is appended to it.
        public var baseURL: String
        /// The limit for connecting (TCP and TLS) per attempt. Default: 5 seconds.
        public var connectTimeout: Duration = .seconds(5)
        /// The limit for one whole exchange per attempt. Default: 30 seconds.
        public var timeout: Duration = .seconds(30)
        /// How many times one request is tried at most (first try included). Default: 4.
        public var maxAttempts: Int = 4
        /// The wait before the first retry; it doubles per retry, with jitter. Default: 250 ms.
        public var initialBackoff: Duration = .milliseconds(250)
        /// The longest wait between two tries. Default: 5 seconds.
        public var maxBackoff: Duration = .seconds(5)
        /// The `n` asked for per `_catalog` or `tags/list` page. Default: 100.
        public var pageSize: Int = 100
        /// The most pages one listing may take before it is abandoned as a runaway. Default: 10,000.
        public var maxPages: Int = 10_000
        /// The largest accepted listing page in bytes. Default: 4 MiB.
        public var maxPageBytes: Int = 4 << 20
        /// The largest accepted manifest in bytes (the registry's own limit is 4 MiB). Default: 4 MiB.
        public var maxManifestBytes: Int = 4 << 20
        /// A cached token is renewed when it has less than this left. Default: 30 seconds.
        public var tokenRenewalMargin: Duration = .seconds(30)

        /// Describes a registry at `baseURL`, with the defaults above.
        public init(name: String, baseURL: String) {
            self.name = name
            self.baseURL = baseURL
        }
    }

    /// The settings this client runs with.
    public let configuration: Configuration
    private let http: any HTTPFetching
    private let tokens: any RegistryTokenSource
    private let cache: TokenCache
    private let logger: Logger?
    private let base: String

    /// Creates a client for one registry; `http` carries the requests and `tokens` mints the credentials.
    public init(
        configuration: Configuration, http: any HTTPFetching, tokens: any RegistryTokenSource, logger: Logger? = nil
    ) {
        self.configuration = configuration
        self.http = http
        self.tokens = tokens
        self.logger = logger
        cache = TokenCache(renewalMargin: configuration.tokenRenewalMargin)
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    // MARK: RegistryAPI

    /// Every repository name in the registry's `_catalog`, all pages followed.
    public func catalog() async throws -> [String] {
        let call = "catalog"
        let first = "\(base)/v2/_catalog?n=\(max(1, configuration.pageSize))"
        let names = try await list(call, first: first, scopes: [.catalog], field: "repositories")
        return names ?? []
    }

    /// Every tag of `repository`, all pages followed; nil when the registry does not know the repository.
    public func tags(of repository: String) async throws -> [String]? {
        let call = "tags of \(repository)"
        try requireRepository(repository, call)
        let first = "\(base)/v2/\(repository)/tags/list?n=\(max(1, configuration.pageSize))"
        return try await list(call, first: first, scopes: [.pull(repository)], field: "tags")
    }

    /// The digest and media type of a manifest (HEAD); nil when it does not exist.
    public func headManifest(_ repository: String, reference: String) async throws -> ManifestDescriptor? {
        let call = "HEAD manifest \(repository):\(reference)"
        try requireRepository(repository, call)
        try requireReference(reference, call)
        let response = try await send(
            call, method: .head, url: manifestURL(repository, reference), scopes: [.pull(repository)],
            accept: ManifestMediaType.all.joined(separator: ", "), maxBytes: configuration.maxManifestBytes)
        switch response.status {
        case 200:
            guard let digest = response.header("Docker-Content-Digest"), ContentDigest.isValid(digest) else {
                throw failure(.badResponse, call, "the answer carries no valid Docker-Content-Digest")
            }
            if ContentDigest.isValid(reference) && digest != reference {
                throw failure(.badResponse, call, "the registry answered for digest \(digest)")
            }
            return ManifestDescriptor(
                digest: digest, mediaType: mediaType(of: response),
                length: response.header("Content-Length").flatMap { Int64($0) })
        case 404:
            return nil
        default:
            throw unexpected(response, call)
        }
    }

    /// The manifest document (GET); nil when it does not exist. Fetched by digest, its bytes must hash to it.
    public func manifest(_ repository: String, reference: String) async throws -> FetchedManifest? {
        let call = "GET manifest \(repository):\(reference)"
        try requireRepository(repository, call)
        try requireReference(reference, call)
        let response = try await send(
            call, method: .get, url: manifestURL(repository, reference), scopes: [.pull(repository)],
            accept: ManifestMediaType.all.joined(separator: ", "), maxBytes: configuration.maxManifestBytes)
        switch response.status {
        case 200:
            let computed = "sha256:" + Hex.encode(Digest.sha256(response.body))
            let announced = response.header("Docker-Content-Digest")
            if let announced, !ContentDigest.isValid(announced) {
                throw failure(.badResponse, call, "the answer carries an invalid Docker-Content-Digest")
            }
            // A sha256 reference or header is checked against the bytes; another algorithm cannot be
            // computed here, so it is taken as announced.
            if reference.hasPrefix("sha256:"), ContentDigest.isValid(reference), computed != reference {
                throw failure(
                    .badResponse, call, "the manifest's bytes hash to \(computed), not to the digest asked for")
            }
            if let announced, announced.hasPrefix("sha256:"), announced != computed {
                throw failure(.badResponse, call, "the manifest's bytes hash to \(computed), not to \(announced)")
            }
            let digest = announced ?? (ContentDigest.isValid(reference) ? reference : computed)
            return FetchedManifest(
                descriptor: ManifestDescriptor(
                    digest: digest, mediaType: mediaType(of: response), length: Int64(response.body.count)),
                body: response.body)
        case 404:
            return nil
        default:
            throw unexpected(response, call)
        }
    }

    /// Deletes a manifest by digest: 202 is success, 405 `.deletionDisabled`, 404 `.notFound`.
    public func deleteManifest(_ repository: String, digest: String) async throws {
        let call = "DELETE manifest \(repository)@\(digest)"
        try requireRepository(repository, call)
        guard ContentDigest.isValid(digest) else {
            throw failure(
                .notFound, call, "\"\(digest.prefix(80))\" is not a digest (a registry deletes only by digest)")
        }
        let response = try await send(
            call, method: .delete, url: manifestURL(repository, digest), scopes: [.delete(repository)], accept: nil,
            maxBytes: 64 << 10)
        switch response.status {
        case 200...299:
            return
        case 405:
            throw failure(
                .deletionDisabled, call, "the registry does not allow deletion (storage.delete.enabled is off)")
        case 404:
            throw failure(.notFound, call, "the registry has no such manifest\(registryErrorSuffix(response))")
        default:
            throw unexpected(response, call)
        }
    }

    // MARK: Listings

    /// Follows a paginated listing to its end; nil when the first page is a 404 (an unknown repository).
    private func list(_ call: String, first: String, scopes: [RegistryScope], field: String) async throws -> [String]? {
        var items: [String] = []
        var seenItems = Set<String>()
        var visited = Set<String>()
        var next: String? = first
        var pages = 0
        while let url = next {
            guard visited.insert(url).inserted else {
                throw failure(.badResponse, call, "the Link header leads back to a page already read (a loop)")
            }
            pages += 1
            guard pages <= configuration.maxPages else {
                throw failure(.badResponse, call, "more than \(configuration.maxPages) pages; listing abandoned")
            }
            let response = try await send(
                call, method: .get, url: url, scopes: scopes, accept: "application/json",
                maxBytes: configuration.maxPageBytes)
            switch response.status {
            case 200:
                break
            case 404 where pages == 1 && field == "tags":
                return nil
            default:
                throw unexpected(response, call)
            }
            for item in try page(response.body, field: field, call) where seenItems.insert(item).inserted {
                items.append(item)
            }
            next = nil
            if let reference = LinkHeader.next(in: response.values(for: "Link")) {
                guard let resolved = LinkHeader.resolve(reference, against: url) else {
                    throw failure(.badResponse, call, "the Link header's next page is unusable or on another origin")
                }
                next = resolved
            }
        }
        return items
    }

    /// The string array `field` of a JSON page; `null` or absent is an empty page.
    private func page(_ body: [UInt8], field: String, _ call: String) throws -> [String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw failure(.badResponse, call, "the page is not a JSON object")
        }
        switch object[field] {
        case nil, is NSNull:
            return []
        case let values as [Any]:
            return try values.map { value in
                guard let string = value as? String else {
                    throw failure(.badResponse, call, "\"\(field)\" holds something other than strings")
                }
                return string
            }
        default:
            throw failure(.badResponse, call, "\"\(field)\" is not an array")
        }
    }

    // MARK: Requests

    private func manifestURL(_ repository: String, _ reference: String) -> String {
        "\(base)/v2/\(repository)/manifests/\(reference)"
    }

    /// Sends one request with a token for `scopes`, retrying 5xx answers and network failures with backoff.
    /// A 401 on a cached token is retried once with a fresh one (the registry may trust a new key).
    private func send(
        _ call: String, method: OutboundRequest.Method, url: String, scopes: [RegistryScope], accept: String?,
        maxBytes: Int
    ) async throws -> InboundResponse {
        let key = TokenCache.key(scopes)
        var attempt = 0
        var renewedToken = false
        while true {
            attempt += 1
            let (token, fromCache) = try await token(for: scopes, key: key, call)
            var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token.value)")]
            if let accept { headers.append(("Accept", accept)) }
            let request = OutboundRequest(
                method: method, url: url, headers: headers, timeout: configuration.timeout,
                connectTimeout: configuration.connectTimeout, maxResponseBytes: maxBytes, followRedirects: false)
            let outcome: Result<InboundResponse, HTTPClientError>
            do {
                outcome = .success(try await http.send(request))
            } catch let error as HTTPClientError {
                outcome = .failure(error)
            } catch {
                throw failure(.unreachable, call, "the request failed: \(error)")
            }
            let lastAttempt = attempt >= max(1, configuration.maxAttempts)
            switch outcome {
            case .success(let response) where response.status == 401 || response.status == 403:
                cache.forget(key)
                if response.status == 401 && fromCache && !renewedToken {
                    renewedToken = true
                    attempt -= 1
                    continue
                }
                throw failure(
                    .unauthorized, call,
                    "the registry refused our token (HTTP \(response.status))\(registryErrorSuffix(response))")
            case .success(let response) where (500...599).contains(response.status):
                guard !lastAttempt else {
                    throw failure(
                        .serverError, call,
                        "HTTP \(response.status) after \(attempt) attempt(s)\(registryErrorSuffix(response))")
                }
                logRetry(call, attempt, "HTTP \(response.status)")
            case .success(let response):
                return response
            case .failure(let error):
                switch error.code {
                case .timeout, .connectionFailed, .transferFailed:
                    guard !lastAttempt else {
                        let code: RegistryAPIError.Code = error.code == .timeout ? .timeout : .unreachable
                        throw failure(code, call, "\(error.message) (after \(attempt) attempt(s))")
                    }
                    logRetry(call, attempt, error.code.rawValue)
                case .responseTooLarge:
                    throw failure(.badResponse, call, "the answer exceeds \(maxBytes) bytes")
                case .tlsFailed:
                    throw failure(.unreachable, call, "TLS failed: \(error.message)")
                case .tooManyRedirects, .invalidURL, .invalidRequest:
                    throw failure(.badResponse, call, "the request could not be made: \(error.message)")
                }
            }
            try await Task.sleep(for: backoff(afterAttempt: attempt))
        }
    }

    /// A token for `scopes`, from the cache when it has time left, else freshly minted.
    private func token(for scopes: [RegistryScope], key: String, _ call: String) async throws -> (RegistryToken, Bool) {
        if let cached = cache.token(for: key) { return (cached, true) }
        let minted: RegistryToken
        do {
            minted = try await tokens.token(for: scopes)
        } catch let error as RegistryAPIError {
            throw error
        } catch {
            throw failure(.credentials, call, "no token could be minted: \(error)")
        }
        cache.store(minted, for: key)
        return (minted, false)
    }

    /// Exponential backoff with jitter: a random wait between half and all of `initial × 2^(attempt−1)`,
    /// capped, so clients retrying together spread out.
    private func backoff(afterAttempt attempt: Int) -> Duration {
        let initial = max(configuration.initialBackoff.inSeconds, 0.001)
        let ceiling = min(
            initial * pow(2, Double(min(attempt - 1, 30))), max(configuration.maxBackoff.inSeconds, initial))
        return .milliseconds(Int(Double.random(in: (ceiling / 2)...ceiling) * 1000))
    }

    private func logRetry(_ call: String, _ attempt: Int, _ reason: String) {
        logger?.warning(
            "registry call failed; retrying",
            ["registry": configuration.name, "call": call, "attempt": String(attempt), "reason": reason])
    }

    // MARK: Errors

    private func requireRepository(_ repository: String, _ call: String) throws {
        guard RepositoryName.isValid(repository) else {
            throw failure(.notFound, call, "\"\(repository.prefix(80))\" is not a valid repository name")
        }
    }

    private func requireReference(_ reference: String, _ call: String) throws {
        guard (TagName.isValid(reference) || ContentDigest.isValid(reference)) else {
            throw failure(.notFound, call, "\"\(reference.prefix(80))\" is not a valid tag or digest")
        }
    }

    private func mediaType(of response: InboundResponse) -> String {
        let value = response.header("Content-Type") ?? ""
        return value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    private func failure(_ code: RegistryAPIError.Code, _ call: String, _ detail: String) -> RegistryAPIError {
        RegistryAPIError(code, "registry \(configuration.name): \(call): \(detail)")
    }

    private func unexpected(_ response: InboundResponse, _ call: String) -> RegistryAPIError {
        failure(.badResponse, call, "unexpected HTTP \(response.status)\(registryErrorSuffix(response))")
    }

    /// `: CODE message` from the registry's JSON error body, shortened; empty when there is none.
    private func registryErrorSuffix(_ response: InboundResponse) -> String {
        guard
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.prefix(64 << 10))))
                as? [String: Any],
            let errors = object["errors"] as? [[String: Any]], let first = errors.first
        else { return "" }
        let code = (first["code"] as? String) ?? ""
        let message = (first["message"] as? String) ?? ""
        let text = [code, message].filter { !$0.isEmpty }.joined(separator: " ")
        return text.isEmpty ? "" : ": " + String(text.prefix(200))
    }
}
