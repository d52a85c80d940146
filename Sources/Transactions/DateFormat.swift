/// The date layouts a transaction log may use.
///
/// Only the calendar day is kept. A time of day or a zone offset is validated and then
/// dropped: the day is the one written in the file (the customer's local day), which is
/// what pandas' `to_period("D")` does with the same text.
public enum DateFormat: String, CaseIterable, Sendable, Codable {
    case isoDate = "yyyy-MM-dd"
    case compact = "yyyyMMdd"
    case isoDateTime = "yyyy-MM-dd HH:mm:ss"
    case iso8601 = "iso8601"
    case monthFirst = "MM/dd/yyyy"
    case dayFirst = "dd/MM/yyyy"

    /// Formats that can be told apart from each other by their shape alone. The two slash
    /// formats only differ in meaning, so detection needs a day above 12 to choose.
    static let detectionOrder: [DateFormat] = [.isoDate, .compact, .isoDateTime, .iso8601, .monthFirst, .dayFirst]

    /// What a user types to choose the format, for help texts and errors.
    public static var choices: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// Parses one field. Returns nil when the text does not have this layout or names a day
    /// that does not exist.
    @inline(__always)
    func parse(_ p: UnsafePointer<UInt8>, _ count: Int) -> CalendarDay? {
        switch self {
        case .isoDate:
            guard count == 10, p[4] == dash, p[7] == dash else { return nil }
            return day(digits(p, 0, 4), digits(p, 5, 2), digits(p, 8, 2))
        case .compact:
            guard count == 8 else { return nil }
            return day(digits(p, 0, 4), digits(p, 4, 2), digits(p, 6, 2))
        case .isoDateTime:
            guard count == 19, p[4] == dash, p[7] == dash, p[10] == space, validTime(p, 11) else { return nil }
            return day(digits(p, 0, 4), digits(p, 5, 2), digits(p, 8, 2))
        case .iso8601:
            guard count >= 19, p[4] == dash, p[7] == dash, p[10] == letterT || p[10] == letterLowerT,
                  validTime(p, 11), validZoneAndFraction(p + 19, count - 19) else { return nil }
            return day(digits(p, 0, 4), digits(p, 5, 2), digits(p, 8, 2))
        case .monthFirst, .dayFirst:
            guard let (first, second, year) = slashed(p, count) else { return nil }
            return self == .monthFirst ? day(year, first, second) : day(year, second, first)
        }
    }

    @inline(__always)
    private func day(_ year: Int, _ month: Int, _ day: Int) -> CalendarDay? {
        guard year >= 0, month >= 0, day >= 0 else { return nil }
        return CalendarDay(year: year, month: month, day: day)
    }
}

private let dash = UInt8(ascii: "-")
private let space = UInt8(ascii: " ")
private let colon = UInt8(ascii: ":")
private let slash = UInt8(ascii: "/")
private let letterT = UInt8(ascii: "T")
private let letterLowerT = UInt8(ascii: "t")

/// The value of `width` decimal digits at `offset`, or -1 if any is not a digit.
@inline(__always)
private func digits(_ p: UnsafePointer<UInt8>, _ offset: Int, _ width: Int) -> Int {
    var value = 0
    for i in offset..<(offset + width) {
        let d = Int(p[i]) &- 48
        guard d >= 0, d <= 9 else { return -1 }
        value = value * 10 + d
    }
    return value
}

/// `HH:mm:ss` at `offset`, with a leap second allowed.
@inline(__always)
private func validTime(_ p: UnsafePointer<UInt8>, _ offset: Int) -> Bool {
    guard p[offset + 2] == colon, p[offset + 5] == colon else { return false }
    let h = digits(p, offset, 2), m = digits(p, offset + 3, 2), s = digits(p, offset + 6, 2)
    return (0...23).contains(h) && (0...59).contains(m) && (0...60).contains(s)
}

/// What may follow `HH:mm:ss` in ISO 8601: an optional `.fraction`, then nothing, `Z`,
/// or an offset `±HH:MM` / `±HHMM` / `±HH`.
private func validZoneAndFraction(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    if i < count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",") {
        i += 1
        let start = i
        while i < count, p[i] >= 48, p[i] <= 57 { i += 1 }
        guard i > start else { return false }
    }
    if i == count { return true }
    if p[i] == UInt8(ascii: "Z") || p[i] == UInt8(ascii: "z") { return i + 1 == count }
    guard p[i] == UInt8(ascii: "+") || p[i] == dash else { return false }
    let rest = count - i - 1
    let q = p + i + 1
    switch rest {
    case 2: return (0...23).contains(digits(q, 0, 2))
    case 4: return (0...23).contains(digits(q, 0, 2)) && (0...59).contains(digits(q, 2, 2))
    case 5: return q[2] == colon && (0...23).contains(digits(q, 0, 2)) && (0...59).contains(digits(q, 3, 2))
    default: return false
    }
}

/// `a/b/yyyy` with one- or two-digit `a` and `b`.
private func slashed(_ p: UnsafePointer<UInt8>, _ count: Int) -> (Int, Int, Int)? {
    guard count >= 8, count <= 10, p[count - 5] == slash else { return nil }
    let year = digits(p, count - 4, 4)
    let head = count - 5
    var firstEnd = -1
    for i in 0..<head where p[i] == slash { firstEnd = i; break }
    guard firstEnd == 1 || firstEnd == 2 else { return nil }
    let secondWidth = head - firstEnd - 1
    guard secondWidth == 1 || secondWidth == 2 else { return nil }
    let first = digits(p, 0, firstEnd), second = digits(p, firstEnd + 1, secondWidth)
    guard first >= 0, second >= 0, year >= 0 else { return nil }
    return (first, second, year)
}

extension DateFormat {
    /// Parses a date given on the command line or in a job file, in any unambiguous layout.
    public static func parseArgument(_ text: String) -> CalendarDay? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> CalendarDay? in
            guard let base = buffer.baseAddress else { return nil }
            for format in [DateFormat.isoDate, .compact, .isoDateTime, .iso8601] {
                if let day = format.parse(base, buffer.count) { return day }
            }
            return nil
        }
    }
}
