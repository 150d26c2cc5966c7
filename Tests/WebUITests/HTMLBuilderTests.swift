import Testing

@testable import WebUI

@Suite("The HTML builder")
struct HTMLBuilderTests {
    @Test("Small and large bodies, nested or side by side, render exactly as written, text escaped")
    func largeAndSmallBodiesRenderTheSame() {
        for rows in [0, 1, 3, 40, 400] {
            let names = (0..<rows).map { "tag-\($0) <b>&\"'" }
            let node = div(.class("wrap")) {
                p { "before" }
                table {
                    for name in names {
                        tr(.data("data-name", name)) { td { name } }
                    }
                }
                "after"
            }
            let row = { (name: String) -> String in
                let escaped = HTMLEscaping.escaped(name)
                return "<tr data-name=\"\(escaped)\"><td>\(escaped)</td></tr>"
            }
            let expected =
                "<div class=\"wrap\"><p>before</p><table>" + names.map(row).joined() + "</table>after</div>"
            #expect(String(decoding: node.bytes, as: UTF8.self) == expected)
            var appended: [UInt8] = Array("<!doctype html>".utf8)
            node.render(into: &appended)
            #expect(String(decoding: appended, as: UTF8.self) == "<!doctype html>" + expected)
        }
    }

    @Test("A tag family's links match the links made one by one")
    func linkFamiliesMatchSingleLinks() {
        for registry in [nil, "registry.example:5000"] {
            let address = RepositoryAddress(fullName: "acme/api", registry: registry)
            for name in ["v1", "a/b", "..", "v1?x=1#y", "é"] {
                #expect(address.tagLinks(name) == address.tag(name))
            }
        }
    }

    @Test("Empty bodies and empty text render as nothing")
    func emptyBodiesAreEmpty() {
        #expect(div {}.bytes == Array("<div></div>".utf8))
        #expect(Node.text("").isEmpty && Node.empty.isEmpty && Node.fragment([]).isEmpty)
        #expect(!Node.text("x").isEmpty)
    }
}
