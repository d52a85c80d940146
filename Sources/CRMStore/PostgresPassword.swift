/// The PostgreSQL password, found as libpq finds it (PostgreSQL manual, "The Password File"
/// and "Environment Variables"): PGPASSWORD when set; otherwise the password file, PGPASSFILE
/// or `~/.pgpass`, whose lines read `hostname:port:database:username:password`, where `*`
/// matches anything in the first four fields, `\:` and `\\` stand for `:` and `\`, lines
/// starting with `#` are comments and the first matching line wins. Like libpq, a password
/// file that group or others may read is ignored, since anyone could have read it.
///
/// The password is only ever handed to the connection; it is in no message, log or
/// description.
import Foundation

enum PostgresPassword {
    static func lookup(for server: PostgresServer, environment: [String: String]) -> String? {
        if let password = environment["PGPASSWORD"] { return password }
        let path = environment["PGPASSFILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let permissions = attributes[.posixPermissions] as? Int, permissions & 0o077 == 0,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        let wanted = [server.host, String(server.port), server.database, server.user]
        for rawLine in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            guard !line.hasPrefix("#") else { continue }
            let fields = splitPasswordFileLine(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0.0 == "*" || $0.0 == $0.1 }) { return fields[4] }
        }
        return nil
    }

    /// Splits on unescaped colons and removes the escapes. The password field keeps any
    /// further colons, as libpq reads the rest of the line as the password.
    static func splitPasswordFileLine(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
