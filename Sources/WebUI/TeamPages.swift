// Placeholder: the team pages are being written; this file is replaced when they land.
extension WebUI {
    var teamRoutes: [WebRoute] { [] }
}
