/// Where an export goes, as `--database` and the job file's `crm.database` write it:
/// `sqlite:PATH` (a file, created when missing) or
/// `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full]`.
///
/// A password in the URL is refused: URLs end up in shell histories, process lists and job
/// files. The password comes from PGPASSWORD or the password file (`PostgresPassword`), as
/// libpq's own tools take it.
import Foundation

public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresServer)

    public init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw CRMStoreError.location("sqlite: needs a file path, as in sqlite:crm.db") }
            // No shell stands between the option and the file: `~` would be a directory of
            // that name.
            guard !path.hasPrefix("~") else {
                throw CRMStoreError.location("sqlite:\(path): ~ is not expanded here; give the path from / or from the current directory")
            }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresServer(url: text))
        } else {
            throw CRMStoreError.location("expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE, got \"\(Self.redacted(text))\"")
        }
    }

    /// A location as it may be quoted in a message: a password between `://` and the host
    /// (`user:secret@`) shows as `user:…@`, even in a URL too broken to be read.
    public static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"),
              let at = text.range(of: "@", options: .backwards, range: scheme.upperBound..<text.endIndex),
              let colon = text[scheme.upperBound..<at.lowerBound].firstIndex(of: ":")
        else { return text }
        return String(text[..<colon]) + ":…" + String(text[at.lowerBound...])
    }

    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let server): return server.description
        }
    }
}

/// A PostgreSQL server, user and database, without a password.
public struct PostgresServer: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        /// Plain TCP (the default, as on loopback).
        case disable
        /// Encrypted, the server's certificate not checked (libpq's `require`).
        case require
        /// Encrypted, the certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode

    public init(user: String, host: String, port: Int = 5432, database: String, tls: TLSMode = .disable) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    init(url text: String) throws {
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw CRMStoreError.location("cannot read \"\(DatabaseLocation.redacted(text))\"; expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw CRMStoreError.location("the URL holds a password; put it in PGPASSWORD or ~/.pgpass instead")
        }
        // The encoded forms, decoded once here (`user` and `path` would be decoded already, and
        // a name holding `%25` decoded twice).
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw CRMStoreError.location("the URL names no user; expected postgres://USER@HOST:PORT/DATABASE")
        }
        let database = String(components.percentEncodedPath.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw CRMStoreError.location("the URL names no database; expected postgres://USER@HOST:PORT/DATABASE")
        }
        var tls = TLSMode.disable
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw CRMStoreError.location("unknown URL parameter \(item.name); the one parameter is sslmode")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw CRMStoreError.location("sslmode must be disable, require or verify-full, got \"\(item.value ?? "")\"")
            }
            tls = mode
        }
        // Past 65535 the port would wrap round to another one when the connection is made;
        // past Int.max `URLComponents` has no port at all, which must not mean the default.
        guard let port = components.port ?? (Self.portText(text).isEmpty ? 5432 : nil), (1...65535).contains(port) else {
            throw CRMStoreError.location("the port must be 1…65535, got \(Self.portText(text))")
        }
        // An IPv6 address is written in brackets in a URL ([::1]); the connection takes it bare.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(user: user, host: bare, port: port, database: database.removingPercentEncoding ?? database, tls: tls)
    }

    /// The port as the URL writes it (empty without one): what follows the host's `:`.
    private static func portText(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "" }
        var authority = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") { authority = authority[authority.index(after: close)...] }
        guard let colon = authority.lastIndex(of: ":") else { return "" }
        return String(authority[authority.index(after: colon)...])
    }

    /// The URL again, the user and the database percent-encoded as they were given (a user
    /// `u%3Asecret` is not shown as `u:secret`, which would read as a password), an IPv6
    /// address in brackets.
    public var description: String {
        let encode = { (text: String, allowed: CharacterSet) in text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var userAllowed = CharacterSet.urlUserAllowed
        userAllowed.remove(charactersIn: ":@")
        var pathAllowed = CharacterSet.urlPathAllowed
        pathAllowed.remove(charactersIn: "/?#")
        return "postgres://\(encode(user, userAllowed))@\(shownHost):\(port)/\(encode(database, pathAllowed))"
            + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
    }
}
