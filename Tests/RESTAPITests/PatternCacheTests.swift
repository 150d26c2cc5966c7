import Testing

@testable import RESTAPI

/// The content routes' patterns are matched by plain Swift; each must say what its regular expression says.
@Suite struct PatternCacheTests {
    static let corpus: [String] = [
        "", "_", "__", "a", "ab", "a.b", "a..b", ".a", "a.", "a-b_c.d", "a__b", "a_-b", "-a", "_a", "1", "1abc",
        "A", "aB", "Latest", "v1.2.3", "latest", "a/b", "a b", "é", "ünïcode", "a\u{0}b", "\u{0}", "a\tb", "a\nb",
        "abc\n", "\n", "🐳", "x:y", "%41", String(repeating: "x", count: 128), String(repeating: "x", count: 129),
        "_" + String(repeating: "x", count: 127), "a" + String(repeating: ".", count: 1),
    ]

    @Test(arguments: [ContentAPI.textPattern, ContentAPI.namespacePattern, ContentAPI.tagPattern])
    func eachFastMatcherAgreesWithItsRegularExpression(pattern: String) throws {
        let matcher = try #require(ContentAPI.patternMatchers[pattern])
        for text in Self.corpus {
            let fast = matcher(text)
            let expected = PatternCache.shared.expression(pattern, matches: text)
            // ICU's `$` also matches before a final newline; the Swift matchers refuse that newline, which is
            // the stricter (and intended) reading.
            if text.hasSuffix("\n") && pattern != ContentAPI.textPattern {
                #expect(!fast, "\(pattern) accepted \(text.debugDescription)")
            } else {
                #expect(fast == expected, "\(pattern) on \(text.debugDescription)")
            }
        }
    }

    @Test func aPatternWithoutAFastMatcherStillUsesItsRegularExpression() {
        let pattern = "^[a-z]+$"
        #expect(PatternCache.shared.text("abc", matches: pattern))
        #expect(!PatternCache.shared.text("ab1", matches: pattern))
        #expect(!PatternCache.shared.text("abc", matches: "(unclosed"))
    }
}
