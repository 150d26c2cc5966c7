import Diagnostics
import Foundation
import Testing

@Suite struct RFC3339ParsingTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0),
        ("2026-11-22T12:25:18.784000378Z", 1_795_350_318.784_000_378),
        ("2026-11-22T13:25:18+01:00", 1_795_350_318.0),
        ("2024-02-29T23:59:59.5-00:30", 1_709_252_999.5),
        ("1969-12-31T23:59:59.000000001Z", -0.999_999_999),
        ("2000-01-01t00:00:00.123456789123z", 946_684_800.123_456_789),
    ])
    func validTimestampsGiveTheirInstant(_ text: String, _ seconds: Double) throws {
        let date = try #require(RFC3339.date(from: text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_01)
    }

    @Test(arguments: [
        "", "2026-11-22", "2026-11-22T12:25:18", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T12:25:18.Z", "2026-11-22T12:25:18+0100", "2026-11-22T12:25:18Z ",
        "２026-11-22T12:25:18Z", "2026-11-22T12:25:18." + String(repeating: "9", count: 100) + "Z",
    ])
    func malformedTimestampsAreRefused(_ text: String) {
        #expect(RFC3339.date(from: text) == nil)
    }
}
