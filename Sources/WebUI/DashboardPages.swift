// Placeholder: the dashboard pages are being written; this file is replaced when they land.
extension WebUI {
    var dashboardRoutes: [WebRoute] { [] }
}
