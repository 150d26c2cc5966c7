import Testing

@testable import ServerApp

@Suite struct AuditCommandTests {
    @Test(arguments: [
        ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("@SUM(1)", "'@SUM(1)"), ("", ""),
    ])
    func csvFieldsAreQuotedPerRFC4180AndFormulasAreDefused(value: String, expected: String) {
        #expect(AuditCommands.csvField(value) == expected)
    }
}
