import Configuration
import Foundation
import TestSupport
import Testing

@Suite struct DocumentationTests {
    @Test func theReadmeListsEveryConfigurationKeyExactlyAsTheSchemaDoes() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = "<!-- BEGIN CONFIGURATION KEYS -->\n", end = "<!-- END CONFIGURATION KEYS -->"
        let start = try #require(readme.range(of: begin)), finish = try #require(readme.range(of: end))
        #expect(
            String(readme[start.upperBound..<finish.lowerBound]) == ConfigurationSchema.markdownTable(),
            "regenerate the table with `portcullis config keys`")
    }

    @Test func theReadmeShowsBothCommandsOfAFreshMachine() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("make run"))
        #expect(readme.contains("make test"))
    }
}
