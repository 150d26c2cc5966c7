import HTTPCore

/// One key of a `sort` parameter: a field and its direction.
public struct SortKey: Sendable, Hashable {
    /// The field (`name`).
    public var field: String
    /// Whether the order is descending (`-name`).
    public var descending: Bool

    /// Creates a key.
    public init(field: String, descending: Bool) {
        self.field = field
        self.descending = descending
    }
}

/// The page a list request asks for, checked: `page` ≥ 1, `per_page` in 1…`maximumPerPage`, `sort` keys
/// among the route's fields.
public struct PageRequest: Sendable, Hashable {
    /// Items per page when `per_page` is absent.
    public static let defaultPerPage = 25
    /// The largest `per_page` accepted; more is a 400, not a silent cut (a client asking for 1000 and
    /// getting 100 would think it has everything).
    public static let maximumPerPage = 100
    /// The largest `page` accepted, so offsets stay far from overflow.
    public static let maximumPage = 1_000_000

    /// The page, from 1.
    public var page: Int
    /// Items per page.
    public var perPage: Int
    /// The order asked for (the route's default when `sort` is absent).
    public var sort: [SortKey]

    /// Creates a page request.
    public init(page: Int, perPage: Int, sort: [SortKey]) {
        self.page = page
        self.perPage = perPage
        self.sort = sort
    }

    /// Items to skip before this page.
    public var offset: Int { (page - 1) * perPage }

    /// Reads `page`, `per_page` and `sort` from `head`'s query for a route listed as `listing`.
    public static func parse(_ head: HTTPRequestHead, listing: APIListing) throws(APIError) -> PageRequest {
        func number(_ name: String, default fallback: Int, maximum: Int) throws(APIError) -> Int {
            let values = head.queryValues(name)
            guard let text = values.last else { return fallback }
            guard values.count == 1, let value = Int(text), value >= 1, value <= maximum else {
                throw APIError.invalidParameter(
                    name, code: "PAGINATION_NUMBER_INVALID", "\(name) must be a whole number from 1 to \(maximum).")
            }
            return value
        }
        let page = try number("page", default: 1, maximum: maximumPage)
        let perPage = try number("per_page", default: defaultPerPage, maximum: maximumPerPage)
        let sortValues = head.queryValues("sort")
        guard sortValues.count <= 1 else {
            throw APIError.invalidParameter("sort", code: "SORT_INVALID", "Give sort once, as a comma-separated list.")
        }
        let sort = try parseSort(sortValues.first ?? listing.defaultSort, fields: listing.sortFields)
        return PageRequest(page: page, perPage: perPage, sort: sort)
    }

    /// `name,-created_at` as keys; an unknown or repeated field is a 400 naming the fields allowed.
    static func parseSort(_ text: String, fields: [String]) throws(APIError) -> [SortKey] {
        var keys: [SortKey] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let descending = part.hasPrefix("-")
            let field = String(descending ? part.dropFirst() : part)
            guard fields.contains(field), !keys.contains(where: { $0.field == field }) else {
                throw APIError.invalidParameter(
                    "sort", code: "SORT_INVALID",
                    "sort may name each of \(fields.joined(separator: ", ")) once, with - for descending order.")
            }
            keys.append(SortKey(field: field, descending: descending))
        }
        return keys
    }

    /// The paging headers of this page of `total` items: `X-Total-Count` (Harbor, GitHub), an RFC 8288
    /// `Link` with `first`, `prev`, `next` and `last`, and Portus's `X-Page`, `X-Per-Page`, `X-Total` and
    /// `X-Total-Pages` (at least 1). Links are path-absolute (no host: the `Host` header is the client's
    /// to choose) and keep every other query parameter.
    public func headers(total: Int, for request: HTTPRequest) -> HTTPHeaders {
        let lastPage = max(1, (total + perPage - 1) / perPage)
        var headers = HTTPHeaders()
        headers.add(name: "X-Total-Count", value: String(total))
        headers.add(name: "X-Total", value: String(total))
        headers.add(name: "X-Total-Pages", value: String(lastPage))
        headers.add(name: "X-Page", value: String(page))
        headers.add(name: "X-Per-Page", value: String(perPage))
        // The path and the other query parameters are the same in every link: encode them once.
        let others = request.head.query.filter { $0.name != "page" && $0.name != "per_page" }
            .map { "\(Self.percentEncoded($0.name))=\(Self.percentEncoded($0.value))&" }.joined()
        let base = Self.percentEncodedPath(request.head.path) + "?" + others + "page="
        let tail = "&per_page=\(perPage)"
        var links: [String] = []
        func link(_ target: Int, _ relation: String) {
            links.append("<\(base)\(target)\(tail)>; rel=\"\(relation)\"")
        }
        link(1, "first")
        if page > 1 { link(min(page - 1, lastPage), "prev") }
        if page < lastPage { link(page + 1, "next") }
        link(lastPage, "last")
        headers.add(name: "Link", value: links.joined(separator: ", "))
        return headers
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= 97 && byte | 0x20 <= 122) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
    }

    static func percentEncoded(_ text: String, keeping extra: UInt8? = nil) -> String {
        // Names and paths are nearly always plain: hand them back as they are.
        if text.utf8.allSatisfy({ isUnreserved($0) || $0 == extra }) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if isUnreserved(byte) || byte == extra {
                output.append(byte)
            } else {
                output.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func percentEncodedPath(_ path: String) -> String { percentEncoded(path, keeping: UInt8(ascii: "/")) }
}
