/// The `portcullis` command line; placeholder until the CLI lands.
public enum PortcullisCommand {
    /// Runs the command named by the process arguments and exits with its status.
    public static func main() async {
        print("portcullis: not yet implemented")
    }
}
