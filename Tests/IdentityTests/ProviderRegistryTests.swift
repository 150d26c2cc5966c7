import ApplicationTokens
import Foundation
import IdentityCore
import LocalPasswords
import Testing

@Suite struct ProviderRegistryTests {
    let registry = ProviderRegistry([LocalPasswordProvider.self, ApplicationTokenProvider.self])

    @Test func listsTheTypeNamesItKnowsSorted() {
        #expect(registry.typeNames == ["application-tokens", "local"])
        #expect(registry.contains(type: "local"))
        #expect(!registry.contains(type: "ldap"))
    }

    @Test func makesAProviderWithItsTypedConfiguration() async throws {
        let environment = try await TestEnvironment.make()
        let provider = try registry.makeProvider(
            type: "local", id: "local", displayName: "Local accounts",
            configuration: JSONConfiguration(
                json: #"{"lockout": {"attempts": 3, "duration": "5m"}, "cache": {"enabled": false}}"#),
            context: environment.context)
        let local = try #require(provider as? LocalPasswordProvider)
        #expect(local.id == "local")
        #expect(local.displayName == "Local accounts")
        #expect(local.configuration.lockout == .init(attempts: 3, duration: .minutes(5)))
        #expect(local.configuration.cache.enabled == false)
        #expect(local.configuration.rateLimit == nil)
    }

    @Test func anUnknownTypeIsAMisconfigurationListingTheKnownTypes() async throws {
        let environment = try await TestEnvironment.make()
        do {
            _ = try registry.makeProvider(
                type: "kerberos", id: "corp", displayName: "Corp", configuration: JSONConfiguration(json: "{}"),
                context: environment.context)
            Issue.record("an unknown type made a provider")
        } catch let error as ProviderError {
            #expect(error.code == .misconfigured)
            #expect(error.provider == "corp")
            #expect(error.reason.contains("kerberos"))
            #expect(error.reason.contains("application-tokens, local"))
        }
    }

    @Test func aFactoryRefusingItsConfigurationIsAMisconfiguration() async throws {
        let environment = try await TestEnvironment.make()
        #expect(throws: ProviderError(.misconfigured, provider: "local", reason: "")) {
            _ = try registry.makeProvider(
                type: "local", id: "local", displayName: "Local",
                configuration: JSONConfiguration(json: #"{"lockout": {"attempts": -1}}"#),
                context: environment.context)
        }
    }

    @Test func twoFactoriesWithOneTypeNameStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = ProviderRegistry([LocalPasswordProvider.self, LocalPasswordProvider.self])
        }
    }
}

@Suite struct ConfigDurationTests {
    @Test(arguments: [
        ("600", 600), ("0", 0), ("90s", 90), ("10m", 600), ("1h", 3_600), ("1h30m", 5_400), ("2d", 172_800),
        (" 5m ", 300),
    ])
    func parsesSecondsAndUnits(text: String, seconds: Int) {
        #expect(ConfigDuration(parsing: text)?.seconds == seconds)
    }

    @Test(arguments: ["", "m", "10x", "-5", "5m1h", "1m1m", "1.5h", "99999999999999999999d", "10 m", "4000d"])
    func refusesWhatIsNotADuration(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test func decodesIntegersAndStringsFromJSON() throws {
        struct Holder: Decodable {
            var a: ConfigDuration
            var b: ConfigDuration
        }
        let holder = try JSONDecoder().decode(Holder.self, from: Data(#"{"a": 300, "b": "10m"}"#.utf8))
        #expect(holder.a.seconds == 300)
        #expect(holder.b.seconds == 600)
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(Holder.self, from: Data(#"{"a": -1, "b": "10m"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(Holder.self, from: Data(#"{"a": 1, "b": "soon"}"#.utf8))
        }
    }

    @Test func describesItselfInTheShortestForm() {
        #expect(ConfigDuration(seconds: 5_400).description == "1h30m")
        #expect(ConfigDuration(seconds: 0).description == "0s")
        #expect(ConfigDuration.minutes(10).description == "10m")
    }
}
