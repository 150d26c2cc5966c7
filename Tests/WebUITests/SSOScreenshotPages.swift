import Foundation
import ProviderTesting
import Storage
import Testing

/// Writes the sign-in pages of issue 13 as static HTML with the UI's assets into `PORTCULLIS_SSO_SHOTS_DIR`, to be
/// served (`python3 -m http.server`) and photographed with `shot.py` (run by hand; skipped unless the variable
/// is set).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PORTCULLIS_SSO_SHOTS_DIR"] != nil))
struct SSOScreenshotPages {
    @Test("Writes the sign-in, refusal and profile pages of single sign-on")
    func writePages() async throws {
        let directory = URL(
            fileURLWithPath: try #require(ProcessInfo.processInfo.environment["PORTCULLIS_SSO_SHOTS_DIR"]))
        let sso = try await SSOFixture()
        func write(_ name: String, _ page: WebPage) throws {
            try Data(page.html.utf8).write(to: directory.appendingPathComponent(name + ".html"))
        }
        for file in sso.web.ui.assetFiles {
            let url = directory.appendingPathComponent(String(file.path.dropFirst()))
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.bytes).write(to: url)
        }
        try write("sign-in", await sso.web.visitor.get("/sign-in"))
        sso.provider.script(code: "u", SSOFixture.identity("sub-u", username: "unverified", verified: false))
        var browser = sso.web.visitor
        try write("refused-email", try await sso.signIn(&browser, code: "u"))
        var replay = sso.web.visitor
        try write("refused-state", await sso.callback(&replay, code: "u", state: String(repeating: "a", count: 43)))
        var failing = sso.web.visitor
        let (state, _) = try await sso.begin(&failing)
        try write("refused-provider", await sso.callback(&failing, code: "forged", state: state))
        // eve: a local account with one linked identity (suspended) and the link button for nothing else.
        let eveID = sso.web.users["eve"]!.id
        try await sso.store.write { try $0.setPasswordHash("$2b$04$abcdefghijklmnopqrstuu", for: eveID) }
        let eve = try await sso.web.browser("eve")
        try write("profile-unlinked", await eve.get("/profile"))
        try await sso.federation.adminLink(
            username: "eve", providerID: "corp-sso", issuer: "https://idp.test",
            subject: "0b6f1e2a-77c4-4d7e-9d1c-5f3c2c1a9e10", by: .operator(login: "test"))
        try write("profile-linked", await eve.get("/profile"))
        let link = try #require(try await sso.store.read { try $0.identityLinks(of: eveID) }.first)
        try write("unlink", await eve.get("/profile/identities/\(link.id.rawValue)/unlink"))
        // The sign-out page that goes on to the provider, without its refresh, so it stays to be photographed.
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var dana = sso.web.visitor
        _ = try await sso.signIn(&dana, code: "dana")
        let session = try #require(dana.cookies["portcullis_session"])
        dana.csrfToken = try await sso.web.sessions.resolve(session)?.csrfToken
        let out = await dana.post("/sign-out", [])
        let still = out.html.replacingOccurrences(
            of: #"<meta http-equiv="refresh" content="0; url=\#(out.goesOnTo ?? "")">"#, with: "")
        try Data(still.utf8).write(to: directory.appendingPathComponent("signed-out.html"))
    }
}
