// Placeholder: the repository pages are being written; this file is replaced when they land.
extension WebUI {
    var repositoryRoutes: [WebRoute] { [] }
}
