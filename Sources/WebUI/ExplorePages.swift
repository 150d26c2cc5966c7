// Placeholder: the explore pages are being written; this file is replaced when they land.
extension WebUI {
    var exploreRoutes: [WebRoute] { [] }
}
