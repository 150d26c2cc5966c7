import Testing

@testable import WebUI

@Suite("Links the pages make")
struct LinkTests {
    @Test(
        "Each path segment is percent-encoded, so a name stays inside its segment",
        arguments: [
            ("a/b", "/x/a%2Fb"), ("..", "/x/%2E%2E"), (".", "/x/%2E"), ("v1?x=1#y", "/x/v1%3Fx=1%23y"),
            ("é", "/x/%C3%A9"), ("100%", "/x/100%25"), ("\"<>", "/x/%22%3C%3E"),
            ("plain-name_1.2", "/x/plain-name_1.2"),
        ])
    func segmentsAreEncoded(_ segment: String, _ expected: String) {
        #expect(Link.path("x", segment).text == expected)
    }

    @Test(
        "A slash-separated name comes out as its segments encoded one by one, with or without the plain-name shortcut",
        arguments: [
            "acme/api", "busybox", "a/b/c", "a/./b", "a/../b", ".", "..", "...", "a/.", "a/..", "a//b", "", "a/", "/a",
            "ä/b", "a b/c", "a.b/c..d", "v1?x/y#z", "100%/x",
        ])
    func slashSeparatedNamesMatchTheirSegments(_ name: String) {
        let segments = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        #expect(Link.path("repositories", slashSeparated: name) == Link.path(["repositories"] + segments))
    }

    @Test("Query values are encoded, & = + # included")
    func queryValuesAreEncoded() {
        #expect(
            Link("/search").query([("q", "a&b=c+d#e f"), ("page", "2")]).text
                == "/search?q=a%26b%3Dc%2Bd%23e%20f&page=2")
    }

    @Test(
        "Only local paths are accepted as a redirect after sign-in",
        arguments: [
            "//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/ok\n", "", "evil",
        ])
    func foreignRedirectsAreRefused(_ candidate: String) {
        #expect(Link.localRedirect(candidate) == nil)
    }
}

@Suite("How the UI writes sizes and escapes text")
struct FormatTests {
    @Test(
        "Sizes are binary units with one decimal",
        arguments: [
            (Int64(0), "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (3_145_728, "3.0 MiB"),
            (48_496_640, "46.3 MiB"), (1_073_741_823, "1024.0 MiB"), (1_073_741_824, "1.0 GiB"),
        ])
    func sizes(_ bytes: Int64, _ expected: String) {
        #expect(WebFormat.size(bytes) == expected)
    }

    @Test("Markup characters and NUL are escaped in text and attributes")
    func escaping() {
        #expect(
            HTMLEscaping.escaped("<a href='x'>&\"\u{0}</a>")
                == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{FFFD}&lt;/a&gt;")
    }
}
