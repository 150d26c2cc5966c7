import Administration
import Foundation
import IdentityCore
import Storage

/// `users`: the accounts (admin list, show, create, update, delete), their enabled and admin flags, and
/// their application tokens (`users/{id}/tokens`). Handlers parse, call `AccountAdministration` or
/// `ApplicationTokenService`, and render; the rules (password and username rules, the last administrator,
/// who may act for whom) are the services'.
public struct UserResources: Sendable {
    private let store: any Store
    private let accounts: AccountAdministration
    private let tokens: ApplicationTokenService

    /// Resources over `accounts` and `tokens`, finding accounts by id in `store`.
    public init(store: any Store, accounts: AccountAdministration, tokens: ApplicationTokenService) {
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
    }

    static let userID = PeopleSupport.idParameter("id", "The user's id.")
    static let tokenID = PeopleSupport.idParameter("token_id", "The token's id.")

    static let createUserSchema = JSONSchema.named(
        "NewUser",
        .object([
            .required("username", .string(minLength: 1, maxLength: 255), "Portus's rules: see docs/api.md."),
            .optional("email", .nullable(.string(maxLength: ProfileRules.emailLength))),
            .optional("display_name", .nullable(.string(maxLength: ProfileRules.displayNameLength))),
            .optional(
                "password", .nullable(.string(maxLength: 200)),
                "8 or more characters, at most 72 bytes; null or absent: logs in through a provider or tokens."),
            .optional("admin", .boolean),
        ]))

    static let updateUserSchema = JSONSchema.named(
        "UserUpdate",
        .object([
            .optional("email", .nullable(.string(maxLength: ProfileRules.emailLength))),
            .optional("display_name", .nullable(.string(maxLength: ProfileRules.displayNameLength))),
            .optional("password", .string(maxLength: 200), "A new password; ends the account's sessions."),
        ]))

    static let tokenSchema = JSONSchema.named(
        "ApplicationToken",
        .object([
            .required("id", .integer()),
            .required("name", .anyString),
            .required("prefix", .anyString, "The visible start of the token, to recognise it."),
            .required("namespaces", .nullable(.array(.anyString)), "The namespaces it is limited to, or null."),
            .required("actions", .nullable(.array(.anyString)), "The actions it is limited to, or null."),
            .required("created_at", .timestamp),
            .required("expires_at", .nullable(.timestamp)),
            .required("last_used_at", .nullable(.timestamp)),
            .required("revoked_at", .nullable(.timestamp)),
        ]))

    static let createdTokenSchema = JSONSchema.named(
        "CreatedApplicationToken",
        .object([
            .required("token", .anyString, "The token itself: shown this once, never again."),
            .required("application_token", tokenSchema),
        ]))

    static let createTokenSchema = JSONSchema.named(
        "NewApplicationToken",
        .object([
            .required("name", .string(minLength: 1, maxLength: ApplicationTokenService.maximumNameLength)),
            .optional("expires_at", .nullable(.timestamp)),
            .optional(
                "namespaces", .nullable(.array(.string(minLength: 1, maxLength: 255), maxItems: 100)),
                "Limit the token to these namespaces."),
            .optional(
                "actions",
                .nullable(.array(.string(allowed: ApplicationTokenService.permittedActions.sorted()), maxItems: 6)),
                "Limit the token to these actions (api:read, api:write, pull, push, delete, *)."),
        ]))

    /// The routes, in document order.
    public var routes: [APIRoute] {
        let user = SystemResources.userSchema
        return [
            APIRoute(
                .get, "/users", operationID: "listUsers", summary: "Every account (administrators).", tags: ["users"],
                access: .admin,
                listing: APIListing(sortFields: ["username", "created_at", "last_login_at"], defaultSort: "username"),
                responses: [APIResponseSpec(.ok, "One page of accounts.", .array(user))]
            ) { [accounts] request in
                let page = try await accounts.list(
                    PeopleSupport.page(request, default: AccountSortField.username), by: PeopleSupport.actor(request))
                return .page(page.items.map(Self.json), total: page.total, of: request)
            },
            APIRoute(
                .post, "/users", operationID: "createUser",
                summary: "Creates an account with its personal namespace (administrators).", tags: ["users"],
                access: .admin, requestBody: Self.createUserSchema,
                responses: [APIResponseSpec(.created, "The account.", user, headers: ["Location"])]
            ) { [accounts] request in
                let body = request.body
                let details = try await accounts.create(
                    NewAccount(
                        username: try PeopleSupport.string(body, "username"),
                        email: PeopleSupport.optionalString(body, "email") ?? nil,
                        displayName: PeopleSupport.optionalString(body, "display_name") ?? nil,
                        password: (PeopleSupport.optionalString(body, "password") ?? nil).map(Password.init),
                        isAdmin: body?["admin"]?.boolValue ?? false),
                    by: PeopleSupport.actor(request))
                return .created(
                    Self.json(details.account), location: "\(RESTAPI.prefix)/users/\(details.account.id.rawValue)")
            },
            APIRoute(
                .get, "/users/{id}", operationID: "getUser", summary: "An account (administrators, or itself).",
                tags: ["users"], access: .user, parameters: [Self.userID],
                responses: [APIResponseSpec(.ok, "The account.", user)]
            ) { [store, accounts] request in
                let found = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let details = try await accounts.show(found.username, by: PeopleSupport.actor(request))
                return .ok(Self.json(details.account))
            },
            APIRoute(
                .patch, "/users/{id}", operationID: "updateUser",
                summary: "Changes an account's e-mail, display name or password (administrators).", tags: ["users"],
                access: .admin, parameters: [Self.userID], requestBody: Self.updateUserSchema,
                responses: [APIResponseSpec(.ok, "The account as changed.", user)]
            ) { [store, accounts] request in
                let found = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let actor = try PeopleSupport.actor(request)
                let body = request.body
                if let password = body?["password"]?.stringValue {
                    // The profile's rules first, then the password (checked and hashed before it is stored):
                    // a refused field leaves the account as it was.
                    if let email = body?["email"]?.stringValue { try ProfileRules.checkEmail(email) }
                    if let name = body?["display_name"]?.stringValue { try ProfileRules.checkDisplayName(name) }
                    try await accounts.setPassword(Password(password), for: found.username, by: actor)
                }
                let summary = try await accounts.updateProfile(
                    email: PeopleSupport.optionalString(body, "email"),
                    displayName: PeopleSupport.optionalString(body, "display_name"), for: found.username, by: actor)
                return .ok(Self.json(summary))
            },
            APIRoute(
                .delete, "/users/{id}", operationID: "deleteUser",
                summary: "Deletes an account; its tokens stop working at once (administrators).", tags: ["users"],
                access: .admin, parameters: [Self.userID],
                responses: [APIResponseSpec(.noContent, "Deleted.")]
            ) { [store, accounts] request in
                let found = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                try await accounts.delete(found.username, by: PeopleSupport.actor(request))
                return .noContent
            },
        ] + flagRoutes + tokenRoutes
    }

    /// `PUT` sets a flag, `DELETE` clears it: `/users/{id}/enabled` and `/users/{id}/admin`.
    private var flagRoutes: [APIRoute] {
        let user = SystemResources.userSchema
        func route(_ method: HTTPMethodName, flag: String, _ summary: String, access: APIAccess) -> APIRoute {
            let on = method == .put
            return APIRoute(
                on ? .put : .delete, "/users/{id}/\(flag)",
                operationID: (on ? "set" : "clear") + (flag == "admin" ? "UserAdmin" : "UserEnabled"),
                summary: summary, tags: ["users"], access: access, parameters: [Self.userID],
                responses: [APIResponseSpec(.ok, "The account as changed.", user)]
            ) { [store, accounts] request in
                let found = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let actor = try PeopleSupport.actor(request)
                let summary =
                    flag == "admin"
                    ? try await accounts.setAdmin(on, for: found.username, by: actor)
                    : try await accounts.setEnabled(on, for: found.username, by: actor)
                return .ok(Self.json(summary))
            }
        }
        return [
            route(.put, flag: "enabled", "Enables an account (administrators).", access: .admin),
            route(
                .delete, flag: "enabled",
                "Disables an account: it can no longer log in, and its tokens stop working (administrators, or itself).",
                access: .user),
            route(.put, flag: "admin", "Makes an account an administrator (administrators).", access: .admin),
            route(
                .delete, flag: "admin",
                "Takes an account's administrator rights; never the last administrator's (administrators).",
                access: .admin),
        ]
    }

    /// Which of the two flag methods a flag route answers.
    private enum HTTPMethodName { case put, delete }

    private var tokenRoutes: [APIRoute] {
        [
            APIRoute(
                .get, "/users/{id}/tokens", operationID: "listUserTokens",
                summary: "An account's application tokens, without secrets (the account, or administrators).",
                tags: ["tokens"], access: .user, parameters: [Self.userID],
                listing: APIListing(sortFields: ["name", "created_at"], defaultSort: "name"),
                responses: [APIResponseSpec(.ok, "One page of tokens.", .array(Self.tokenSchema))]
            ) { [store, tokens] request in
                let owner = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let all = try await tokens.list(owner: owner.id, by: PeopleSupport.actor(request))
                let ordered = PeopleSupport.sorted(all, request) { token, field in
                    field == "created_at" ? SystemResources.timestamp(token.createdAt) : token.name
                }
                return .page(PeopleSupport.slice(ordered, request).map(Self.json), total: all.count, of: request)
            },
            APIRoute(
                .post, "/users/{id}/tokens", operationID: "createUserToken",
                summary:
                    "Creates an application token; its value is in this answer only (the account, or administrators).",
                tags: ["tokens"], access: .user, parameters: [Self.userID], requestBody: Self.createTokenSchema,
                responses: [
                    APIResponseSpec(.created, "The token, shown once.", Self.createdTokenSchema, headers: ["Location"])
                ]
            ) { [store, tokens] request in
                let owner = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let body = request.body
                let namespaces = PeopleSupport.stringSet(body, "namespaces")
                let actions = PeopleSupport.stringSet(body, "actions")
                let restriction = AccessRestriction(namespaces: namespaces, actions: actions)
                let created = try await tokens.create(
                    owner: owner.id, name: try PeopleSupport.string(body, "name"),
                    expiresAt: try PeopleSupport.date(body, "expires_at"),
                    restriction: restriction.isUnrestricted ? nil : restriction,
                    within: request.caller?.restriction, by: PeopleSupport.actor(request))
                var response = APIResponse.created(
                    .object([("token", .string(created.plaintext)), ("application_token", Self.json(created.token))]),
                    location: "\(RESTAPI.prefix)/users/\(owner.id.rawValue)/tokens/\(created.token.id.rawValue)")
                // The answer holds a secret: no cache may keep it.
                response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
                return response
            },
            APIRoute(
                .get, "/users/{id}/tokens/{token_id}", operationID: "getUserToken",
                summary: "One application token, without its secret (the account, or administrators).",
                tags: ["tokens"], access: .user, parameters: [Self.userID, Self.tokenID],
                responses: [APIResponseSpec(.ok, "The token.", Self.tokenSchema)]
            ) { [store, tokens] request in
                let owner = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                let tokenID = try PeopleSupport.id(request, "token_id")
                let all = try await tokens.list(owner: owner.id, by: PeopleSupport.actor(request))
                guard let token = all.first(where: { $0.id.rawValue == tokenID }) else {
                    throw APIError.notFound("User \(owner.id) has no token \(tokenID).")
                }
                return .ok(Self.json(token))
            },
            APIRoute(
                .delete, "/users/{id}/tokens/{token_id}", operationID: "revokeUserToken",
                summary: "Revokes an application token; it stops working at once (the account, or administrators).",
                tags: ["tokens"], access: .user, parameters: [Self.userID, Self.tokenID],
                responses: [APIResponseSpec(.noContent, "Revoked (or already revoked).")]
            ) { [store, tokens] request in
                let owner = try await PeopleSupport.user(PeopleSupport.id(request, "id"), in: store)
                try await tokens.revoke(
                    owner: owner.id, tokenID: ApplicationToken.ID(PeopleSupport.id(request, "token_id")),
                    by: PeopleSupport.actor(request))
                return .noContent
            },
        ]
    }

    /// The `User` document of an account summary (never a password hash).
    static func json(_ account: AccountSummary) -> JSONValue {
        .object([
            ("id", .integer(account.id.rawValue)),
            ("username", .string(account.username)),
            ("email", JSONValue.optional(account.email)),
            ("display_name", JSONValue.optional(account.displayName)),
            ("admin", .bool(account.isAdmin)),
            ("enabled", .bool(account.isEnabled)),
            ("created_at", JSONValue.timestamp(account.createdAt)),
            ("updated_at", JSONValue.timestamp(account.updatedAt)),
            ("last_login_at", JSONValue.timestamp(account.lastLoginAt)),
        ])
    }

    /// The `ApplicationToken` document (never the secret or its hash).
    static func json(_ token: ApplicationTokenSummary) -> JSONValue {
        .object([
            ("id", .integer(token.id.rawValue)),
            ("name", .string(token.name)),
            ("prefix", .string(token.prefix)),
            ("namespaces", token.restriction?.namespaces.map { PeopleSupport.list($0.sorted()) } ?? .null),
            ("actions", token.restriction?.actions.map { PeopleSupport.list($0.sorted()) } ?? .null),
            ("created_at", JSONValue.timestamp(token.createdAt)),
            ("expires_at", JSONValue.timestamp(token.expiresAt)),
            ("last_used_at", JSONValue.timestamp(token.lastUsedAt)),
            ("revoked_at", JSONValue.timestamp(token.revokedAt)),
        ])
    }
}
