import Transactions

/// A JSON value as a job file holds it, parsed by hand so that the job's validation can say
/// exactly where a problem is: the parser reports line and column (1-based, the column in
/// characters, as an editor counts them) of malformed text and of the first byte that is not
/// UTF-8 (JSON text is UTF-8; a Latin-1 file's bytes would otherwise become U+FFFD unsaid), keeps the order of object members (so job.json is written
/// back in the order of the job file's reference), tells integers from fractions (so that
/// `"k": 8.5` is refused, not truncated) and refuses a key given twice, which
/// JSONSerialization would silently resolve to one of the values.
///
/// Writing is deterministic: members in their stored order, two-space indentation, numbers
/// in Swift's shortest round-tripping form, NaN and infinities as `null`.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits an Int.
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value as a user reads it in an error message: strings quoted, containers by kind.
    public var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let value): return jsonStringLiteral(value)
        case .array(let elements): return elements.isEmpty ? "an empty array" : "an array"
        case .object(let members): return members.isEmpty ? "an empty object" : "an object"
        }
    }
}

/// Malformed JSON text, at a 1-based line and character column.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public var line: Int
    public var column: Int
    public var message: String
}

extension JSONValue {
    /// Parses one JSON value filling the whole text (blanks around it allowed).
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        if let offset = firstNonUTF8(bytes) {
            throw parser.error("byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) is not UTF-8; save the job file as UTF-8 (for a Latin-1 file: iconv -f latin1 -t utf-8)",
                               at: offset)
        }
        parser.skipBlanks()
        let value = try parser.value(depth: 0)
        parser.skipBlanks()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the end of the JSON value") }
        return value
    }

    /// The offset of the first byte of `bytes` that does not start a well-formed UTF-8
    /// sequence, or nil when they are UTF-8.
    static func firstNonUTF8(_ bytes: [UInt8]) -> Int? {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// The text of the value, indented by two spaces per level, ending with a newline.
    public func formatted() -> String {
        var text = ""
        write(to: &text, indent: 0)
        return text + "\n"
    }

    private func write(to text: inout String, indent: Int) {
        let inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        case .number(let value): text += value.isFinite ? String(value) : "null"
        case .string(let value): text += jsonStringLiteral(value)
        case .array(let items):
            guard !items.isEmpty else { text += "[]"; return }
            if items.allSatisfy(\.isScalar) {
                text += "[" + items.map { $0.formatted().dropLast() }.joined(separator: ", ") + "]"
                return
            }
            text += "[\n"
            for (i, item) in items.enumerated() {
                text += inner
                item.write(to: &text, indent: indent + 1)
                text += i + 1 < items.count ? ",\n" : "\n"
            }
            text += String(repeating: "  ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { text += "{}"; return }
            text += "{\n"
            for (i, member) in members.enumerated() {
                text += inner + jsonStringLiteral(member.key) + ": "
                member.value.write(to: &text, indent: indent + 1)
                text += i + 1 < members.count ? ",\n" : "\n"
            }
            text += String(repeating: "  ", count: indent) + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}

/// A recursive-descent parser over the bytes (RFC 8259), nesting limited so that a hostile
/// file cannot exhaust the stack.
private struct JSONParser {
    static let maximumDepth = 64
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        let at = min(offset ?? position, bytes.count)
        var line = 1, lineStart = 0
        for i in 0..<at where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        // Characters, not bytes: the UTF-8 bytes that do not continue a character.
        return JSONSyntaxError(line: line, column: bytes[lineStart..<at].count { $0 & 0xC0 != 0x80 } + 1, message: message)
    }

    mutating func skipBlanks() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        guard position < bytes.count else { throw error("unexpected end of the text; expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character \(describe(bytes[position])); expected a value")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipBlanks()
        guard position < bytes.count else { throw error("unexpected end of the text; expected \(what)") }
        guard bytes[position] == byte else { throw error("unexpected character \(describe(bytes[position])); expected \(what)") }
        position += 1
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let expected = Array(word.utf8)
        guard position + expected.count <= bytes.count, Array(bytes[position..<position + expected.count]) == expected else {
            throw error("unexpected text; expected \(word)")
        }
        position += expected.count
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        skipBlanks()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipBlanks()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error(position < bytes.count ? "expected a key in double quotes" : "unexpected end of the text; expected a key")
            }
            let keyStart = position
            let key = try string()
            if members.contains(where: { $0.key == key }) { throw error("the key \"\(key)\" appears twice", at: keyStart) }
            try expect(UInt8(ascii: ":"), "':' after the key")
            skipBlanks()
            members.append((key, try value(depth: depth + 1)))
            skipBlanks()
            guard position < bytes.count else { throw error("unexpected end of the text; expected ',' or '}'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        skipBlanks()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipBlanks()
            items.append(try value(depth: depth + 1))
            skipBlanks()
            guard position < bytes.count else { throw error("unexpected end of the text; expected ',' or ']'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(items)
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = position
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flush(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard position < bytes.count else { throw error("the string has no closing quote", at: start) }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flush(position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("a control character inside a string must be escaped") }
            if byte != UInt8(ascii: "\\") { position += 1; continue }
            flush(position)
            guard position + 1 < bytes.count else { throw error("the string has no closing quote", at: start) }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count,
                   bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired surrogate in \\u escapes") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("an unpaired surrogate in \\u escapes") }
                scalars.append(scalar)
            default:
                throw error("unknown escape \\\(describe(escape))", at: position - 2)
            }
            runStart = position
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
            throw error("\\u needs four hexadecimal digits")
        }
        position += 4
        return code
    }

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        func digits() -> Int {
            let from = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        guard digits() > 0 else { throw error("a number needs digits after '-'") }
        if bytes[integerStart] == UInt8(ascii: "0"), position - integerStart > 1 {
            throw error("a number must not start with 0", at: integerStart)
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            isInteger = false
            guard digits() > 0 else { throw error("a number needs digits after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            isInteger = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("a number needs digits in its exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else { throw error("the number \(text) is out of range", at: start) }
        return .number(value)
    }
}
