// The element functions pages are written with (generated once; keep the list sorted by use, not by name).
// Every one takes attributes and an `@HTMLBuilder` body; text in a body is escaped.

/// `<div>`: A generic block.
func div(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("div", attributes, content())
}

/// `<span>`: A generic inline element.
func span(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("span", attributes, content())
}

/// `<p>`: A paragraph.
func p(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("p", attributes, content())
}

/// `<h1>`: The page's heading.
func h1(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("h1", attributes, content())
}

/// `<h2>`: A section heading.
func h2(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("h2", attributes, content())
}

/// `<h3>`: A sub-section heading.
func h3(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("h3", attributes, content())
}

/// `<ul>`: A list.
func ul(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("ul", attributes, content())
}

/// `<ol>`: An ordered list.
func ol(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("ol", attributes, content())
}

/// `<li>`: A list item.
func li(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("li", attributes, content())
}

/// `<nav>`: Navigation.
func nav(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("nav", attributes, content())
}

/// `<header>`: A header.
func header(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("header", attributes, content())
}

/// `<footer>`: A footer.
func footer(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("footer", attributes, content())
}

/// `<main>`: The page's main content.
func mainElement(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("main", attributes, content())
}

/// `<section>`: A section.
func section(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("section", attributes, content())
}

/// `<aside>`: A side note.
func aside(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("aside", attributes, content())
}

/// `<article>`: An article.
func article(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("article", attributes, content())
}

/// `<table>`: A table.
func table(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("table", attributes, content())
}

/// `<thead>`: A table's head.
func thead(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("thead", attributes, content())
}

/// `<tbody>`: A table's body.
func tbody(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("tbody", attributes, content())
}

/// `<tr>`: A table row.
func tr(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("tr", attributes, content())
}

/// `<th>`: A header cell.
func th(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("th", attributes, content())
}

/// `<td>`: A data cell.
func td(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("td", attributes, content())
}

/// `<caption>`: A table's caption.
func caption(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("caption", attributes, content())
}

/// `<label>`: A form control's label.
func label(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("label", attributes, content())
}

/// `<button>`: A button.
func button(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("button", attributes, content())
}

/// `<select>`: A drop-down.
func select(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("select", attributes, content())
}

/// `<option>`: An option of a drop-down.
func option(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("option", attributes, content())
}

/// `<textarea>`: A multi-line text field.
func textarea(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("textarea", attributes, content())
}

/// `<fieldset>`: A group of form controls.
func fieldset(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("fieldset", attributes, content())
}

/// `<legend>`: A fieldset's title.
func legend(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("legend", attributes, content())
}

/// `<code>`: Code or a name typed into terminals.
func code(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("code", attributes, content())
}

/// `<pre>`: Preformatted text.
func pre(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("pre", attributes, content())
}

/// `<strong>`: Strong importance.
func strong(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("strong", attributes, content())
}

/// `<em>`: Emphasis.
func em(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("em", attributes, content())
}

/// `<small>`: Side comment.
func small(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("small", attributes, content())
}

/// `<time>`: A time.
func time(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("time", attributes, content())
}

/// `<details>`: A disclosure widget (works without JavaScript).
func details(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("details", attributes, content())
}

/// `<summary>`: The label of a `details`.
func summary(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("summary", attributes, content())
}

/// `<dl>`: A description list.
func dl(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("dl", attributes, content())
}

/// `<dt>`: A description term.
func dt(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("dt", attributes, content())
}

/// `<dd>`: A description.
func dd(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("dd", attributes, content())
}

/// `<svg>`: An inline SVG image.
func svg(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("svg", attributes, content())
}

/// `<g>`: An SVG group.
func g(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("g", attributes, content())
}

/// `<title>`: An accessible name (SVG) or the document title.
func titleElement(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("title", attributes, content())
}

/// `<head>`: The document head.
func head(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("head", attributes, content())
}

/// `<body>`: The document body.
func body(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("body", attributes, content())
}

/// `<html>`: The document root.
func html(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("html", attributes, content())
}

/// `<kbd>`: Keyboard input.
func kbd(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("kbd", attributes, content())
}

/// `<output>`: The result of an action.
func output(_ attributes: Attribute..., @HTMLBuilder content: () -> Node = { .empty }) -> Node {
    .element("output", attributes, content())
}

/// `<a href>`: a link; the target is a `Link`, never a string.
func a(href link: Link, _ attributes: Attribute..., @HTMLBuilder content: () -> Node) -> Node {
    .element("a", [.href(link)] + attributes, content())
}

/// `<form method="post">` with the session's CSRF token as its first field: every form that changes
/// anything is made here, so none can forget the token.
func postForm(action: Link, csrf: String, _ attributes: Attribute..., @HTMLBuilder content: () -> Node) -> Node {
    .element(
        "form", [.custom("method", "post"), .action(action)] + attributes,
        hiddenField(WebCSRF.fieldName, csrf).appending(content()))
}

/// `<form method="get">` (search, filters): no token, it changes nothing.
func getForm(action: Link, _ attributes: Attribute..., @HTMLBuilder content: () -> Node) -> Node {
    .element("form", [.custom("method", "get"), .action(action)] + attributes, content())
}

/// `<input>`.
func input(_ attributes: Attribute...) -> Node { .void("input", attributes) }

/// `<input type="hidden">`.
func hiddenField(_ name: String, _ value: String) -> Node {
    .void("input", [.type("hidden"), .name(name), .value(value)])
}

/// `<meta>`.
func meta(_ attributes: Attribute...) -> Node { .void("meta", attributes) }

/// `<link>` (stylesheets, icons).
func linkElement(_ attributes: Attribute...) -> Node { .void("link", attributes) }

/// `<script src defer>`: only the bundled script, never inline (the CSP forbids inline script).
func script(src link: Link) -> Node {
    .element("script", [.src(link), .flag("defer")], .empty)
}

/// `<br>`.
func br() -> Node { .void("br", []) }

/// An SVG shape without children (`rect`, `polyline`, `line`, `circle`, `path`).
func svgShape(_ tag: StaticString, _ attributes: Attribute...) -> Node { .element(tag, attributes, .empty) }
