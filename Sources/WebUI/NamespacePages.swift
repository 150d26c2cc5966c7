// Placeholder: the namespace pages are being written; this file is replaced when they land.
extension WebUI {
    var namespaceRoutes: [WebRoute] { [] }
}
