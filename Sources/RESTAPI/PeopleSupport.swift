import Administration
import Foundation
import Storage

/// What the people resources (`users`, `users/{id}/tokens`, `teams`, members and robots) share: the acting
/// `Caller` of a request, path ids, and the fields of a checked body.
enum PeopleSupport {
    /// The service-level caller of an authenticated request (its admin flag is re-read by the services).
    static func actor(_ request: APIRequest) throws(APIError) -> Caller {
        let caller = try request.requireCaller()
        return .user(id: User.ID(caller.userID), username: caller.username, isAdmin: caller.isAdmin)
    }

    /// The integer path parameter `name` (checked as an integer before the handler runs).
    static func id(_ request: APIRequest, _ name: String) throws(APIError) -> Int64 {
        guard let text = request.pathParameters[name], let value = Int64(text) else {
            throw APIError.invalidParameter(name, "\(name) must be an integer.")
        }
        return value
    }

    /// The path parameter of ids: an integer from 1.
    static func idParameter(_ name: String, _ summary: String) -> APIParameter {
        .path(name, .integer(minimum: 1), summary)
    }

    /// The account with id `id`, or 404.
    static func user(_ id: Int64, in store: any Store) async throws -> User {
        guard let user = try await store.read({ try $0.user(id: User.ID(id)) }) else {
            throw APIError.notFound("No user has id \(id).")
        }
        return user
    }

    /// The team with id `id`, or 404 (the services decide what the caller may see of it).
    static func team(_ id: Int64, in store: any Store) async throws -> Team {
        guard let team = try await store.read({ try $0.team(id: Team.ID(id)) }) else {
            throw APIError.notFound("No team has id \(id).")
        }
        return team
    }

    /// A required string field of a body the schema has checked.
    static func string(_ body: JSONValue?, _ name: String) throws(APIError) -> String {
        guard let text = body?[name]?.stringValue else {
            throw APIError(.badRequest, code: "FIELD_REQUIRED", message: "\(name) is required.", field: name)
        }
        return text
    }

    /// An optional field: nil when absent, `.some(nil)` when `null`, else its text.
    static func optionalString(_ body: JSONValue?, _ name: String) -> String?? {
        guard let value = body?[name] else { return nil }
        return .some(value.stringValue)
    }

    /// An RFC 3339 timestamp field, or nil when absent or null; 400 when it is not one.
    static func date(_ body: JSONValue?, _ name: String) throws(APIError) -> Date? {
        guard let text = body?[name]?.stringValue else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw APIError(
                .badRequest, code: "FIELD_INVALID",
                message: "\(name) must be an RFC 3339 time such as 2030-01-31T12:00:00Z.", field: name)
        }
        return date
    }

    /// A string-array field as a set, or nil when absent or null.
    static func stringSet(_ body: JSONValue?, _ name: String) -> Set<String>? {
        guard case .array(let items)? = body?[name] else { return nil }
        return Set(items.compactMap(\.stringValue))
    }

    /// Strings as a JSON array.
    static func list(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// The first sort key of a page as a service's sort field, and the offset and limit of the page.
    static func page<Field: SortField>(_ request: APIRequest, default field: Field) -> Administration.PageRequest<Field>
    {
        let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
        let key = page.sort.first
        return Administration.PageRequest(
            offset: page.offset, limit: page.perPage, sort: key.flatMap { Field(rawValue: $0.field) } ?? field,
            descending: key?.descending ?? false)
    }

    /// One page of `items` already in their full order (short lists the services return whole).
    static func slice<Item>(_ items: [Item], _ request: APIRequest) -> [Item] {
        let page = request.page ?? PageRequest(page: 1, perPage: PageRequest.defaultPerPage, sort: [])
        let start = min(page.offset, items.count)
        return Array(items[start..<min(start + page.perPage, items.count)])
    }

    /// `items` ordered by the page's sort keys, compared by `key(item, field)`.
    static func sorted<Item>(_ items: [Item], _ request: APIRequest, key: (Item, String) -> String) -> [Item] {
        let keys = request.page?.sort ?? []
        return items.enumerated().sorted { lhs, rhs in
            for sortKey in keys {
                let (a, b) = (key(lhs.element, sortKey.field), key(rhs.element, sortKey.field))
                if a != b { return sortKey.descending ? a > b : a < b }
            }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }
}
