import Administration
import ApplicationTokens
import Configuration
import CryptoCore
import DatabaseCopy
import Diagnostics
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import IdentityCore
import IdentityMapping
import JOSE
import LDAPClient
import PortusImport
import RegistryCore
import RegistryIntegration
import Storage
import TestSupport
import Testing
import TokenAuthority
import WebUI
import Webhooks

/// One error type's stable codes, read from its `Code` enum, so a new case is checked without editing
/// this file.
struct ErrorVocabulary: Sendable, CustomStringConvertible {
    /// The type's name as the source declares it.
    let type: String
    /// Every raw value of its `Code`.
    let codes: [String]

    /// The codes of a `CodedError`.
    init<E: CodedError>(_ type: E.Type) where E.Code: CaseIterable {
        self.init(String(describing: type), E.Code.self)
    }

    /// The codes of a type that carries a code without being thrown (a refusal is an outcome).
    init<C: RawRepresentable & CaseIterable>(_ type: String, _ codes: C.Type) where C.RawValue == String {
        self.type = type
        self.codes = C.allCases.map(\.rawValue)
    }

    var description: String { type }
}

/// Every error type the project defines with codes. A new public error type must be added here (or to
/// `exempt`, with why): `everyPublicErrorTypeInTheSourcesIsListed` fails until it is.
let vocabulary: [ErrorVocabulary] = [
    ErrorVocabulary(StoreError.self),
    ErrorVocabulary(ProviderError.self),
    ErrorVocabulary(UsernameError.self),
    ErrorVocabulary("MappingRefusal", MappingRefusal.Code.self),
    ErrorVocabulary(LDAPError.self),
    ErrorVocabulary(CryptoError.self),
    ErrorVocabulary(TLSError.self),
    ErrorVocabulary(JWTError.self),
    ErrorVocabulary(SigningKeyError.self),
    ErrorVocabulary(ConfigurationError.self),
    ErrorVocabulary("ConfigIssue", ConfigIssue.Code.self),
    ErrorVocabulary(SecretError.self),
    ErrorVocabulary(HTTPParseError.self),
    ErrorVocabulary(HTTPServerError.self),
    ErrorVocabulary(HTTPClientError.self),
    ErrorVocabulary(JSONValueError.self),
    ErrorVocabulary("NotificationError", NotificationError.Code.self),
    ErrorVocabulary("ManifestError", ManifestError.Code.self),
    ErrorVocabulary("RegistryAPIError", RegistryAPIError.Code.self),
    ErrorVocabulary(DeletionError.self),
    ErrorVocabulary(WebDeletionFailure.self),
    ErrorVocabulary("ReconciliationError", ReconciliationError.Code.self),
    ErrorVocabulary(WebhookError.self),
    ErrorVocabulary("ApplicationTokenError", ApplicationTokenErrorCode.self),
    ErrorVocabulary("RobotAccountError", RobotAccountErrorCode.self),
    ErrorVocabulary(RestrictionCodingError.self),
    ErrorVocabulary(AdministrationError.self),
    ErrorVocabulary(FederatedSignInError.self),
    ErrorVocabulary("SearchError", SearchErrorCode.self),
    ErrorVocabulary("WebOperationError", WebOperationErrorCode.self),
    ErrorVocabulary(WorkloadLoginError.self),
    ErrorVocabulary("DatabaseCopyError", DatabaseCopyErrorCode.self),
    ErrorVocabulary("PortusImportError", PortusImportErrorCode.self),
]

/// Types whose codes span several modules on purpose, with the modules allowed: one error type for the
/// account, team, namespace and repository services, each code prefixed by the aggregate it concerns.
let severalModules: [String: Set<Substring>] = [
    "AdministrationError": [
        "administration", "account", "team", "namespace", "repository", "session", "setup", "workload",
    ]
]

/// Public error types without a `module.snake_case` code, and why.
let exempt: [String: String] = [
    "HTTPError": "its UPPER_SNAKE codes are the registry protocol's error body (`UNAUTHORIZED`, `DENIED`)",
    "HTTPResponseError": "the protocol HTTP errors conform to, not an error itself",
    "CodedError": "the protocol every listed type conforms to",
    "ParseError": "CIDR's parse message; the configuration loader reports it as `config.invalid_value`",
    "ScopeProblem": "a refused scope is listed in a ScopeParseResult and answered as the registry's 400",
    "JSONSyntaxError": "the REST API's JSON reader's position and message; the API answers it as `JSON_MALFORMED`",
    "CommandFailure": "the command line's exit status (sysexits) and message; the codes are in what it wraps",
    "TokenRefused": "OAuth2.ProviderAPI's signal to its plugin, never surfaced: revalidation answers it `.gone`, a "
        + "sign-in `provider.protocol_violation`",
]

@Suite struct ErrorVocabularyTests {
    /// `module.snake_case`: lower-case words joined by `_`, one dot between the module and the rest.
    static var spelling: Regex<(Substring, Substring?, Substring?)> {
        /^[a-z][a-z0-9]*(_[a-z0-9]+)*\.[a-z][a-z0-9]*(_[a-z0-9]+)*$/
    }

    @Test(arguments: vocabulary)
    func everyCodeIsSpeltModuleDotSnakeCaseWithOneModulePerType(entry: ErrorVocabulary) {
        #expect(!entry.codes.isEmpty)
        for code in entry.codes {
            #expect(code.wholeMatch(of: Self.spelling) != nil, "\(entry.type): '\(code)' is not module.snake_case")
        }
        let modules = Set(entry.codes.map { $0.prefix { $0 != "." } })
        if let allowed = severalModules[entry.type] {
            #expect(modules.isSubset(of: allowed), "\(entry.type) spans the modules \(modules.sorted())")
        } else {
            #expect(modules.count == 1, "\(entry.type) spans the modules \(modules.sorted())")
        }
    }

    @Test func noTwoTypesShareACode() {
        let owners = Dictionary(grouping: vocabulary.flatMap { entry in entry.codes.map { ($0, entry.type) } }) {
            $0.0
        }
        let shared = owners.filter { $0.value.count > 1 }.keys.sorted()
        #expect(shared.isEmpty, "codes defined twice: \(shared)")
    }

    @Test func theErrorsDocumentListsEveryCode() throws {
        let document = try String(contentsOf: packageRoot.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let missing = vocabulary.flatMap(\.codes).filter { !document.contains("`\($0)`") }
        #expect(missing.isEmpty, "docs/errors.md does not list \(missing)")
    }

    @Test func everyPublicErrorTypeInTheSourcesIsListed() throws {
        // A public type or protocol whose conformance list names Error or CodedError.
        let declaration =
            /public\s+(?:struct|enum|final\s+class|class|protocol)\s+(\w+)\s*:[^{]*\b(?:Error|CodedError)\b/
        let listed = Set(vocabulary.map(\.type)).union(exempt.keys)
        var unlisted: [String] = []
        for directory in ["Sources", "Plugins"] {
            let root = packageRoot.appendingPathComponent(directory)
            let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
            while let file = files?.nextObject() as? URL {
                guard file.pathExtension == "swift" else { continue }
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in text.matches(of: declaration) where !listed.contains(String(match.1)) {
                    unlisted.append("\(file.lastPathComponent): \(match.1)")
                }
            }
        }
        #expect(unlisted.isEmpty, "error types missing from the vocabulary: \(unlisted)")
    }
}
