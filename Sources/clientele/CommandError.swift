/// A failure found while a command runs (not in its arguments): printed as one line,
/// without the usage text that argument errors get.
struct CommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
