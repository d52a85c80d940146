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
        case _ where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.isLayoutControl):
            // Line separators and bidirectional controls too: valid raw in JSON, they break
            // or reorder the line where the text is shown (an error message on a terminal).
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

extension StringProtocol {
    /// Whether the text holds a character that has no place in a name shown in titles, log
    /// lines and database rows: a control character (tab, line breaks, NUL, escapes), a line
    /// or paragraph separator (U+2028, U+2029), or a bidirectional mark, embedding, override or
    /// isolate (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which can make a name read
    /// backwards.
    public var containsLayoutControls: Bool {
        unicodeScalars.contains(where: \.isLayoutControl)
    }
}

extension Unicode.Scalar {
    /// A control character, a line or paragraph separator, or a bidirectional mark,
    /// embedding, override or isolate (see `containsLayoutControls`).
    var isLayoutControl: Bool {
        switch properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return [0x200E, 0x200F].contains(value) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
        }
    }
}
