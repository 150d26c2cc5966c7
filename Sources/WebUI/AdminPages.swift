// Placeholder: the admin pages are being written; this file is replaced when they land.
extension WebUI {
    var adminRoutes: [WebRoute] { [] }
}
