import RegistryCore
import RegistryIntegration
import Testing
import WebUI

@testable import ServerApp

@Suite("The web UI's deletion port maps the registry path's refusals to pages")
struct WebRegistryDeletionTests {
    @Test(
        "Each deletion failure becomes the failure the page answers with",
        arguments: [
            (DeletionError(.denied, "'vera' may not delete in acme/api"), WebDeletionFailure.Code.denied),
            (DeletionError(.unknownActor, "no enabled user 'x'"), .denied),
            (DeletionError(.notAtRegistry, "the registry holds no tag acme/api:v1"), .notFound),
            (DeletionError(.partial, "deleted 1 of 2"), .refused),
            (DeletionError(.invalidName, "'A' is not a repository name"), .refused),
            (
                DeletionError(
                    .registryRefused, "deletion is disabled there",
                    registryError: RegistryAPIError(.deletionDisabled, "405")), .refused
            ),
            (
                DeletionError(
                    .registryRefused, "could not be reached", registryError: RegistryAPIError(.unreachable, "refused")),
                .unavailable
            ),
            (
                DeletionError(.registryRefused, "timed out", registryError: RegistryAPIError(.timeout, "slow")),
                .unavailable
            ),
        ])
    func mapsFailures(_ error: DeletionError, _ expected: WebDeletionFailure.Code) {
        let failure = WebRegistryDeletion.failure(error, completed: nil)
        #expect(failure.code == expected)
        #expect(failure.reason.lowercased().hasPrefix(error.message.lowercased()))
        #expect(failure.reason.hasSuffix("."))
    }
}
