/// Single text fields as the result files write them: a CSV field quoted as RFC 4180 asks,
/// and a JSON string literal. Shared by the modules that write result directories and by
/// CRMStore, which rebuilds JSON from them, so that every writer escapes the same way.
///
/// Hazard: both work on the UTF-8 bytes or Unicode scalars, not on Swift characters, so a
/// "\r\n" pair (one Character) is still seen as a line break.

/// `text` as one CSV field, quoted (quotes doubled) when it holds a comma, a quote or a
/// line break.
public func csvField(_ text: String) -> String {
    var bytes: [UInt8] = []
    appendCSVField(text.utf8, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

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
