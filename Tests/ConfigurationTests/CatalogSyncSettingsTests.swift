import Foundation
import Testing

@testable import Configuration

@Suite struct CatalogSyncSettingsTests {
    @Test func catalogSyncDefaultsToEveryTenMinutesWithFourCallsInFlight() throws {
        let configuration = try load([("00.yaml", "")])
        #expect(configuration.catalogSync.enabled)
        #expect(configuration.catalogSync.interval == .seconds(600))
        #expect(configuration.catalogSync.concurrency == 4)
    }

    @Test func catalogSyncSettingsAreRead() throws {
        let configuration = try load([
            ("60-sync.yaml", "catalogSync:\n  enabled: false\n  interval: 1h\n  concurrency: 8\n")
        ])
        #expect(!configuration.catalogSync.enabled)
        #expect(configuration.catalogSync.interval == .seconds(3600))
        #expect(configuration.catalogSync.concurrency == 8)
    }

    @Test func anIntervalShorterThanTenSecondsIsRefusedNamingTheKey() {
        let lines = report([("60-sync.yaml", "catalogSync:\n  interval: 5s\n")])
        #expect(lines.count == 1)
        #expect(lines.first?.contains("catalogSync.interval") == true)
    }

    @Test func aConcurrencyOfZeroIsRefused() {
        #expect(report([("60-sync.yaml", "catalogSync:\n  concurrency: 0\n")]).count == 1)
    }
}
