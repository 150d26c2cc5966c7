// Placeholder: the profile pages are being written; this file is replaced when they land.
extension WebUI {
    var profileRoutes: [WebRoute] { [] }
}
