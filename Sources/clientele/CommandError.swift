/// A failure found while a command runs (not in its arguments): printed as one line,
/// without the usage text that argument errors get.
struct CommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension CommandError {
    /// What `body` makes of a file's contents, its failure prefixed with the file's path, so
    /// that a command reading several (a purchase model and a spend model) says which one is
    /// wrong: `gg.json: invalid model file: "gamma-gamma" is not a purchase model …`.
    static func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(path): \(error)")
        }
    }
}

extension Sequence where Element: Hashable {
    /// The first element an earlier one equals (a feature listed twice in an option), or nil.
    var firstRepeated: Element? {
        var seen = Set<Element>()
        return first { !seen.insert($0).inserted }
    }
}
