import CryptoCore
import Foundation
import TestSupport
import Testing

/// A real registry (distribution 2.8) trusting a live `portcullis serve`, driven with skopeo and
/// curl as users would: login, push, pull, delete, catalog, anonymous access, application tokens
/// and the OAuth2 refresh flow. Each test gets its own portcullis, registry and directories.
///
/// Refusals are always checked next to a success in the same stack, so a broken endpoint or
/// harness cannot pass a test by refusing everything.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct RegistryTokenTests {
    typealias User = Stack.User

    @Test func skopeoLoginSucceedsWithTheRightPasswordAndIsRefusedWithAWrongOne() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let good = try await stack.client("alice").login(stack.registry, user: "alice", password: Stack.alice.password)
        #expect(good.succeeded, "\(good)\n\(stack.logs())")
        let bad = try await stack.client("mallory").login(stack.registry, user: "alice", password: "not-her-password")
        #expect(!bad.succeeded, "\(bad)")
        let unknown = try await stack.client("nobody").login(stack.registry, user: "nobody", password: "whatever-1234")
        #expect(!unknown.succeeded, "\(unknown)")

        // What skopeo login sends: the account and service, no scope; 200 for good, 401 for bad.
        let accepted = try await stack.portcullis.tokenRequest(user: Stack.alice.credentials)
        #expect(accepted.status == 200, "\(accepted)")
        let refused = try await stack.portcullis.tokenRequest(user: ("alice", "not-her-password"))
        #expect(refused.status == 401, "\(refused)")
        #expect(refused.json?["token"] == nil)
    }

    @Test func anOwnerPushesToTheirNamespaceAndPullsTheSameDigestBack() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let image = try await stack.image()
        let pushed = try await alice.push(image, to: stack.registry, "alice/demo:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")

        let inspected = try await alice.inspectDigest(stack.registry, "alice/demo:1")
        #expect(inspected.succeeded, "\(inspected)")
        #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifestDigest)

        let destination = stack.pullDestination()
        let pulled = try await alice.pull(stack.registry, "alice/demo:1", into: destination)
        #expect(pulled.succeeded, "\(pulled)\n\(stack.logs())")
        #expect(try OCIImage.indexManifestDigest(of: destination) == image.manifestDigest)
        let layer = destination.appendingPathComponent("blobs/sha256/" + image.layerDigest.dropFirst("sha256:".count))
        #expect(FileManager.default.fileExists(atPath: layer.path), "the layer came back byte for byte")
    }

    @Test func pushingIntoAnotherUsersNamespaceIsRefused() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let bob = try await stack.loggedIn(Stack.bob)
        let own = try await bob.push(try await stack.image(), to: stack.registry, "bob/demo:1")
        #expect(own.succeeded, "bob pushes into his own namespace: \(own)\n\(stack.logs())")

        let foreign = try await bob.push(try await stack.image(), to: stack.registry, "alice/demo:1")
        #expect(!foreign.succeeded, "\(foreign)")
        let token = try await stack.portcullis.token(
            scopes: ["repository:alice/demo:pull,push"], user: Stack.bob.credentials)
        let granted = try grantedActions(token, type: "repository", name: "alice/demo")
        #expect(!granted.contains("push"), "the token grants \(granted)")

        // Nothing arrived: the owner finds no such tag.
        let alice = try await stack.loggedIn(Stack.alice)
        let lookup = try await alice.inspectDigest(stack.registry, "alice/demo:1")
        #expect(!lookup.succeeded, "\(lookup)")
    }

    @Test func onlyAnAdministratorPushesToTheGlobalNamespaceAndEveryonePullsFromIt() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let image = try await stack.image()
        let admin = try await stack.loggedIn(Stack.admin)
        let pushed = try await admin.push(image, to: stack.registry, "busybox:1")
        #expect(pushed.succeeded, "the admin pushes an image without a namespace: \(pushed)\n\(stack.logs())")
        let alice = try await stack.loggedIn(Stack.alice)
        let refused = try await alice.push(image, to: stack.registry, "busybox:2")
        #expect(!refused.succeeded, "\(refused)")
        let pulled = try await alice.pull(stack.registry, "busybox:1", into: stack.pullDestination())
        #expect(pulled.succeeded, "any logged-in user pulls from the global namespace: \(pulled)")
    }

    @Test func anonymousPullWorksOnAPublicNamespaceAndIsRefusedOnAPrivateOne() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let publicImage = try await stack.image("public"), privateImage = try await stack.image("private")
        let pushedPublic = try await alice.push(publicImage, to: stack.registry, "devs-public/demo:1")
        #expect(
            pushedPublic.succeeded, "a team owner pushes into the team's namespace: \(pushedPublic)\n\(stack.logs())")
        let pushedPrivate = try await alice.push(privateImage, to: stack.registry, "devs-private/demo:1")
        #expect(pushedPrivate.succeeded, "\(pushedPrivate)")

        let anonymous = try stack.client("anonymous")
        let destination = stack.pullDestination()
        let pulled = try await anonymous.pull(stack.registry, "devs-public/demo:1", into: destination, anonymous: true)
        #expect(pulled.succeeded, "\(pulled)\n\(stack.logs())")
        #expect(try OCIImage.indexManifestDigest(of: destination) == publicImage.manifestDigest)

        let refused = try await anonymous.pull(
            stack.registry, "devs-private/demo:1", into: stack.pullDestination(), anonymous: true)
        #expect(!refused.succeeded, "\(refused)")
        let anonymousToken = try await stack.portcullis.token(scopes: ["repository:devs-private/demo:pull"], user: nil)
        #expect(try grantedActions(anonymousToken, type: "repository", name: "devs-private/demo").isEmpty)
        #expect(try DecodedJWT(anonymousToken).claims["sub"] as? String ?? "" == "", "sub is empty for anonymous")

        // Someone with no team at all cannot read the private namespace either.
        let carol = try await stack.loggedIn(Stack.carol)
        let carolPull = try await carol.inspectDigest(stack.registry, "devs-private/demo:1")
        #expect(!carolPull.succeeded, "\(carolPull)")
    }

    @Test func onlyAnAdministratorReadsTheCatalog() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let pushed = try await alice.push(try await stack.image(), to: stack.registry, "alice/demo:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")

        let adminToken = try await stack.portcullis.token(scopes: ["registry:catalog:*"], user: Stack.admin.credentials)
        #expect(try grantedActions(adminToken, type: "registry", name: "catalog") == ["*"])
        let listing = try await stack.registryRequest("GET", "/v2/_catalog", token: adminToken)
        #expect(listing.status == 200, "\(listing)\n\(stack.registry.logTail())")
        #expect((listing.json?["repositories"] as? [String])?.contains("alice/demo") == true, "\(listing)")

        let aliceAnswer = try await stack.portcullis.tokenRequest(
            scopes: ["registry:catalog:*"], user: Stack.alice.credentials)
        #expect(aliceAnswer.status == 200, "a scope not granted is left out, not an error: \(aliceAnswer)")
        let aliceToken = try await stack.portcullis.token(scopes: ["registry:catalog:*"], user: Stack.alice.credentials)
        #expect(try grantedActions(aliceToken, type: "registry", name: "catalog").isEmpty)
        let refused = try await stack.registryRequest("GET", "/v2/_catalog", token: aliceToken)
        #expect(refused.status == 401, "\(refused)")
        let leaked = refused.json?["repositories"] as? [String] ?? []
        #expect(leaked.isEmpty, "no repository names in a refusal")
    }

    @Test func theOwnerDeletesByDigestAndAViewerCannot() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let first = try await stack.image("first"), second = try await stack.image("second")
        for (image, tag) in [(first, "1"), (second, "2")] {
            let pushed = try await alice.push(image, to: stack.registry, "devs-private/demo:\(tag)")
            #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
        }

        // bob is a viewer of the team: he pulls, but neither skopeo nor a raw DELETE removes anything.
        let bob = try await stack.loggedIn(Stack.bob)
        let bobReads = try await bob.inspectDigest(stack.registry, "devs-private/demo:1")
        #expect(bobReads.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == first.manifestDigest, "\(bobReads)")
        let bobDeletes = try await bob.delete(stack.registry, "devs-private/demo@\(first.manifestDigest)")
        #expect(!bobDeletes.succeeded, "\(bobDeletes)")
        let bobToken = try await stack.portcullis.token(
            scopes: ["repository:devs-private/demo:pull,delete"], user: Stack.bob.credentials)
        #expect(try grantedActions(bobToken, type: "repository", name: "devs-private/demo") == ["pull"])
        let rawRefused = try await stack.registryRequest(
            "DELETE", "/v2/devs-private/demo/manifests/\(second.manifestDigest)", token: bobToken)
        #expect(rawRefused.status == 401, "\(rawRefused)")
        let stillThere = try await alice.inspectDigest(stack.registry, "devs-private/demo:1")
        #expect(stillThere.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == first.manifestDigest)

        // The owner: skopeo delete (which asks for repository:<name>:*) ...
        let aliceDeletes = try await alice.delete(stack.registry, "devs-private/demo@\(first.manifestDigest)")
        #expect(aliceDeletes.succeeded, "\(aliceDeletes)\n\(stack.logs())")
        let gone = try await alice.inspectDigest(stack.registry, "devs-private/demo:1")
        #expect(!gone.succeeded, "the tag went with its manifest: \(gone)")

        // ... and the registry API by hand: HEAD for the digest, DELETE by digest (202).
        let aliceToken = try await stack.portcullis.token(
            scopes: ["repository:devs-private/demo:pull,delete"], user: Stack.alice.credentials)
        let head = try await stack.registryRequest(
            "HEAD", "/v2/devs-private/demo/manifests/2", token: aliceToken,
            headers: ["Accept: application/vnd.oci.image.manifest.v1+json"])
        #expect(head.header("docker-content-digest") == second.manifestDigest, "\(head)")
        let deleted = try await stack.registryRequest(
            "DELETE", "/v2/devs-private/demo/manifests/\(second.manifestDigest)", token: aliceToken)
        #expect(deleted.status == 202, "\(deleted)\n\(stack.registry.logTail())")
    }

    @Test func anApplicationTokenLogsInAndPushesInPlaceOfThePassword() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let secret = try await stack.portcullis.createApplicationToken(user: "alice", name: "ci")
        #expect(secret != Stack.alice.password)

        let ci = try stack.client("alice-ci")
        let login = try await ci.login(stack.registry, user: "alice", password: secret)
        #expect(login.succeeded, "\(login)\n\(stack.logs())")
        let image = try await stack.image()
        let pushed = try await ci.push(image, to: stack.registry, "alice/from-ci:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")
        let inspected = try await ci.inspectDigest(stack.registry, "alice/from-ci:1")
        #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifestDigest)

        // The token is alice's, not anyone's: as bob it is a wrong password.
        let asBob = try await stack.portcullis.tokenRequest(user: ("bob", secret))
        #expect(asBob.status == 401, "\(asBob)")
        let tampered = try await stack.portcullis.tokenRequest(user: ("alice", secret + "x"))
        #expect(tampered.status == 401, "\(tampered)")
    }

    @Test func aRefreshTokenFromAnOfflineLoginIsExchangedByAChunkedPost() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.loggedIn(Stack.alice)
        let pushed = try await alice.push(try await stack.image(), to: stack.registry, "alice/demo:1")
        #expect(pushed.succeeded, "\(pushed)\n\(stack.logs())")

        // What `docker login` sends.
        let offline = try await stack.portcullis.tokenRequest(
            user: Stack.alice.credentials, extra: [("offline_token", "true"), ("client_id", "docker")])
        #expect(offline.status == 200, "\(offline)")
        let refreshToken = try #require(offline.json?["refresh_token"] as? String, "\(offline)")
        #expect(!refreshToken.isEmpty)

        // What docker sends afterwards: the form as a chunked body, no Content-Length, no Basic auth.
        let form = HTTP.formEncode([
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", "docker"),
            ("service", stack.portcullis.service), ("scope", "repository:alice/demo:pull"),
        ])
        let exchanged = try await HTTP.request(
            stack.portcullis.realm, method: "POST", headers: ["Content-Type: application/x-www-form-urlencoded"],
            body: form, chunked: true)
        #expect(exchanged.status == 200, "\(exchanged)\n\(stack.portcullis.logTail())")
        let accessToken = try #require(exchanged.json?["access_token"] as? String, "\(exchanged)")
        #expect(try expiresInIsAnInteger(exchanged))
        if let again = exchanged.json?["refresh_token"] as? String {
            #expect(again == refreshToken, "refresh tokens are not rotated (docker keeps the first one)")
        }
        let claims = try DecodedJWT(accessToken).claims
        #expect(claims["sub"] as? String == "alice")
        #expect(try grantedActions(accessToken, type: "repository", name: "alice/demo") == ["pull"])
        let tags = try await stack.registryRequest("GET", "/v2/alice/demo/tags/list", token: accessToken)
        #expect(tags.status == 200, "\(tags)\n\(stack.registry.logTail())")
        #expect(tags.text.contains("\"1\""))

        let forged = HTTP.formEncode([
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken + "x"), ("client_id", "docker"),
            ("service", stack.portcullis.service), ("scope", "repository:alice/demo:pull"),
        ])
        let refused = try await HTTP.request(
            stack.portcullis.realm, method: "POST", headers: ["Content-Type: application/x-www-form-urlencoded"],
            body: forged, chunked: true)
        #expect(refused.status != 200 && refused.json?["access_token"] == nil, "\(refused)")
    }

    @Test func theTokenAnswerCarriesEqualTokensAnIntegerLifetimeAndAnRFC3339IssueTime() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let answer = try await stack.portcullis.tokenRequest(
            scopes: ["repository:alice/demo:pull,push"], user: Stack.alice.credentials)
        #expect(answer.status == 200, "\(answer)\n\(stack.portcullis.logTail())")
        #expect(answer.header("content-type")?.hasPrefix("application/json") == true, "\(answer)")
        let json = try #require(answer.json, "\(answer)")
        let token = try #require(json["token"] as? String)
        #expect(json["access_token"] as? String == token)
        #expect(try expiresInIsAnInteger(answer))
        let issuedAt = try #require(json["issued_at"] as? String)
        let issued = try #require(parseRFC3339(issuedAt), "issued_at \(issuedAt) is not RFC 3339")
        #expect(abs(issued.timeIntervalSinceNow) < 300)

        let jwt = try DecodedJWT(token)
        #expect(jwt.header["typ"] as? String == "JWT")
        #expect((jwt.header["x5c"] as? [String])?.isEmpty == false, "x5c carries the signing certificate")
        let certificate = try stack.portcullis.certificate(Portcullis.defaultKey.certificate)
        #expect(jwt.keyID == certificate.publicKey.libtrustKeyID())
        #expect(jwt.claims["iss"] as? String == stack.portcullis.issuer)
        #expect(jwt.claims["aud"] as? String == stack.portcullis.service, "aud is a string, never an array")
        #expect(jwt.claims["sub"] as? String == "alice")
        #expect(Set(try grantedActions(token, type: "repository", name: "alice/demo")) == ["pull", "push"])
        // Registry 2.8 refuses floats in the time claims.
        let payload = String(decoding: Base64URL.decode(String(token.split(separator: ".")[1])) ?? [], as: UTF8.self)
        for claim in ["exp", "nbf", "iat"] where payload.contains("\"\(claim)\"") {
            #expect(
                payload.range(of: "\"\(claim)\"\\s*:\\s*[0-9]+\\s*[,}]", options: .regularExpression) != nil,
                "\(claim) in \(payload)")
        }
    }

    // MARK: Helpers

    /// The actions a token grants on one resource (merged over its access entries, sorted).
    func grantedActions(_ token: String, type: String, name: String) throws -> [String] {
        let access = try DecodedJWT(token).claims["access"] as? [[String: Any]] ?? []
        let actions = access.filter { $0["type"] as? String == type && $0["name"] as? String == name }
            .flatMap { $0["actions"] as? [String] ?? [] }
        return Array(Set(actions)).sorted()
    }

    /// Whether `expires_in` is written as a JSON integer (a float breaks clients).
    func expiresInIsAnInteger(_ answer: HTTPResult) throws -> Bool {
        answer.text.range(of: "\"expires_in\"\\s*:\\s*[0-9]+\\s*[,}]", options: .regularExpression) != nil
    }
}
