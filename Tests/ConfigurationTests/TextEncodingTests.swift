import Testing

@testable import Configuration

@Suite struct TextEncodingTests {
    @Test(
        arguments: [
            ([0x61, 0x0A, 0x62, 0xFF], 2, 2, 0xFF),  // a stray byte after a line break
            ([0xC3, 0xA9, 0xE9, 0x0A], 1, 2, 0xE9),  // é, then Latin-1 é: the column counts characters
            ([0xC0, 0xAF], 1, 1, 0xC0),  // an overlong '/'
            ([0xED, 0xA0, 0x80], 1, 1, 0xED),  // a UTF-16 surrogate
            ([0xF4, 0x90, 0x80, 0x80], 1, 1, 0xF4),  // above U+10FFFF
            ([0x61, 0x62, 0xE2, 0x82], 1, 3, 0xE2),  // a sequence cut short by the end of the file
        ] as [([UInt8], Int, Int, UInt8)])
    func theFirstByteThatIsNotUTF8IsFoundAtItsLineAndColumn(bytes: [UInt8], line: Int, column: Int, byte: UInt8) {
        let found = TextEncoding.firstNonUTF8Byte(in: bytes)
        #expect(found?.line == line && found?.column == column && found?.byte == byte)
    }

    @Test func wellFormedTextHasNoBadByte() {
        #expect(TextEncoding.firstNonUTF8Byte(in: Array("log:\n  level: info # Zoë 名前 🚀\n".utf8)) == nil)
    }

    @Test func aFragmentWithALatin1ByteIsReportedThereNotAtItsStart() {
        let bytes = Array("server:\n  listen: \"127.0.0.1:5080\"\n# caf".utf8) + [0xE9] + Array("\n".utf8)
        guard case .failure(let error) = YAMLParser.parse(bytes, file: "00-x.yaml") else {
            Issue.record("a non-UTF-8 fragment was accepted")
            return
        }
        #expect(
            error.issues.map(\.description) == [
                "00-x.yaml:3:6: byte 0xE9 is not UTF-8; configuration files must be UTF-8 text"
            ])
    }

    @Test func theEffectiveConfigurationRendersBidiControlsAndC1ControlsAsEscapes() {
        #expect(YAMLRenderer.quoted("a\u{202E}b\u{85}c\u{61C}") == #""a\u202eb\x85c\u061c""#)
    }

    @Test func whereAValueWasWrittenIsNotPartOfTheConfigurationsValue() throws {
        let written = try ConfigurationLoader.load(fragments: [
            ConfigurationFragment(name: "a.yaml", text: "log:\n  level: info\n")
        ])
        #expect(written.origins.location(of: "log.level").description == "a.yaml:2:10")
        #expect(written.origins.location(of: "log.format").description == "a.yaml:2:3")
        #expect(written.origins.location(of: "server.listen").description == "(defaults)")
        var other = written
        other.origins = ConfigOrigins()
        #expect(written == other)
    }
}
