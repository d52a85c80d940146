/// Single text fields as the result files write them: a JSON string literal. Shared by the
/// modules that write result directories and by CRMStore, which rebuilds JSON from them, so
/// that every writer escapes the same way.
///
/// Hazard: it works on Unicode scalars, not on Swift characters, so a "\r\n" pair (one
/// Character) is still escaped as two.

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
public func jsonStringLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
