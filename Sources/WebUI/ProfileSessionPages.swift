import Administration
import Foundation
import HTTPCore
import Storage

// The signed-in person's web sessions: where they are signed in, ending one, and "sign out everywhere else".
extension WebUI {
    var sessionRoutes: [WebRoute] {
        [
            .get("/profile/sessions", .signedIn) { request in try await sessionsPage(request) },
            .post("/profile/sessions/others/end", .signedIn) { request in try await endOtherSessions(request) },
            .post("/profile/sessions/:id/end", .signedIn) { request in try await endSession(request) },
        ]
    }

    func sessionsPage(_ request: WebRequest) async throws -> WebResponse {
        let user = request.user
        let current = request.session?.id
        let sessions = try await services.sessions.list(of: user.id, current: current, by: request.caller)
        let now = Date()
        let others = sessions.filter { !$0.isCurrent }.count
        return .page(
            Page(
                "Sessions", lede: "The browsers signed in to your account. End any you do not recognise.",
                breadcrumb: profileCrumbs("Sessions"), section: .profile
            ) {
                profileTabs("sessions")
                section(.class("card flush"), .id("sessions"), .ariaLabel("Your sessions")) {
                    h2 { "Signed-in browsers" }
                    if sessions.isEmpty {
                        emptyState("No sessions listed", "Sessions appear here as you sign in from browsers.")
                    } else {
                        div(.class("tablewrap")) {
                            table {
                                thead {
                                    tr {
                                        th { "Client" }
                                        th(.class("hide-narrow")) { "Address" }
                                        th(.class("hide-narrow")) { "Signed in" }
                                        th { "Last seen" }
                                        th { span(.class("visually-hidden")) { "End" } }
                                    }
                                }
                                tbody {
                                    for session in sessions {
                                        tr {
                                            td(.class("name")) {
                                                truncated(WebUserAgent.summary(session.client), keep: 48)
                                                if session.isCurrent {
                                                    " "
                                                    badge("this session", "info")
                                                }
                                                if let client = session.client {
                                                    div(.class("muted small hide-narrow")) {
                                                        truncated(client, keep: 72)
                                                    }
                                                }
                                            }
                                            td(.class("hide-narrow")) { code { session.address ?? "—" } }
                                            td(.class("hide-narrow")) { timeAgo(session.createdAt, now: now) }
                                            td { timeAgo(session.lastSeenAt, now: now) }
                                            td(.class("num")) {
                                                if session.isCurrent {
                                                    postForm(
                                                        action: Link("/sign-out"), csrf: request.csrfToken,
                                                        .class("inline")
                                                    ) {
                                                        submitButton("Sign out", style: "small")
                                                    }
                                                } else {
                                                    postForm(
                                                        action: Link.path(
                                                            "profile", "sessions", String(session.id.rawValue), "end"),
                                                        csrf: request.csrfToken, .class("inline")
                                                    ) {
                                                        submitButton("End", style: "small danger-text")
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if others > 0 || sessions.isEmpty {
                    section(.class("card narrow"), .id("end-others"), .ariaLabel("Sign out everywhere else")) {
                        h2 { "Sign out everywhere else" }
                        p(.class("muted")) {
                            "Ends every session but this one, for example after using a shared computer. "
                                + "docker login credentials are not affected: revoke tokens for those."
                        }
                        postForm(
                            action: Link("/profile/sessions/others/end"), csrf: request.csrfToken,
                            .id("end-others-form")
                        ) {
                            submitButton("Sign out everywhere else", style: "danger")
                        }
                    }
                }
            })
    }

    func endSession(_ request: WebRequest) async throws -> WebResponse {
        guard let raw = Int64(request.parameter("id")) else { throw WebError.notFound("There is no such session.") }
        let id = WebSession.ID(raw)
        if id == request.session?.id {
            throw WebError.badRequest("To end this session, sign out.")
        }
        do {
            try await services.sessions.end(id, of: request.user.id, by: request.caller)
        } catch {
            return try refused(Link("/profile/sessions"), error)
        }
        return done(Link("/profile/sessions"), "Session ended.")
    }

    func endOtherSessions(_ request: WebRequest) async throws -> WebResponse {
        let ended = try await services.sessions.endAll(
            of: request.user.id, except: request.session?.id, by: request.caller)
        return done(
            Link("/profile/sessions"),
            ended == 1 ? "1 other session ended." : "\(WebFormat.count(ended)) other sessions ended.")
    }
}

/// A short name for a browser from its `User-Agent` ("Firefox on Linux"); the whole string stays in the page.
enum WebUserAgent {
    static func summary(_ agent: String?) -> String {
        guard let agent, !agent.isEmpty else { return "Unknown client" }
        let browsers = [
            ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
        ]
        let systems = [
            ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"), ("Linux", "Linux"),
        ]
        guard let browser = browsers.first(where: { agent.contains($0.0) })?.1 else {
            return String(agent.prefix(48))
        }
        guard let system = systems.first(where: { agent.contains($0.0) })?.1 else { return browser }
        return "\(browser) on \(system)"
    }
}
