#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum AmountParseResult {
    case value(Double)
    case notANumber
    case notFinite
}

/// Powers of ten that are exact in a Double.
private let exactPowersOfTen: [Double] = (0...22).map { e in
    var v = 1.0
    for _ in 0..<e { v *= 10 }
    return v
}

/// Parses a decimal amount with `.` as the decimal point (`12`, `-3.50`, `1e3`).
///
/// Most amounts have few digits: they are read as an integer mantissa and one division by an
/// exact power of ten, which IEEE 754 rounds correctly (Clinger's fast path). Longer ones and
/// exponents go to `strtod`, which rounds correctly too. `nan`, `inf` and hexadecimal floats,
/// which `strtod` would accept, are refused: an amount must be a finite decimal number.
@inline(__always)
func parseAmount(_ p: UnsafePointer<UInt8>, _ count: Int) -> AmountParseResult {
    guard count > 0 else { return .notANumber }
    var i = 0
    var negative = false
    if p[0] == UInt8(ascii: "-") || p[0] == UInt8(ascii: "+") {
        negative = p[0] == UInt8(ascii: "-")
        i = 1
    }
    var mantissa: UInt64 = 0
    var digitCount = 0
    var fractionDigits = 0
    var seenPoint = false
    while i < count {
        let b = p[i]
        if b >= 48, b <= 57 {
            if digitCount < 19 {
                mantissa = mantissa &* 10 &+ UInt64(b - 48)
                if mantissa != 0 { digitCount += 1 }
                if seenPoint { fractionDigits += 1 }
            } else {
                return slowParse(p, count)
            }
        } else if b == UInt8(ascii: "."), !seenPoint {
            seenPoint = true
        } else {
            return slowParse(p, count)
        }
        i += 1
    }
    let digitsStart = (p[0] == UInt8(ascii: "-") || p[0] == UInt8(ascii: "+")) ? 1 : 0
    if count - digitsStart == (seenPoint ? 1 : 0) { return .notANumber }
    guard mantissa <= (1 << 53), fractionDigits <= 22 else { return slowParse(p, count) }
    let magnitude = Double(mantissa) / exactPowersOfTen[fractionDigits]
    return .value(negative ? -magnitude : magnitude)
}

private func slowParse(_ p: UnsafePointer<UInt8>, _ count: Int) -> AmountParseResult {
    var sawLetter = false
    for i in 0..<count {
        let b = p[i]
        let isNumeric = (b >= 48 && b <= 57) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
        if !isNumeric { sawLetter = true }
    }
    if sawLetter {
        let lowered = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self).lowercased()
        let bare = lowered.hasPrefix("-") || lowered.hasPrefix("+") ? String(lowered.dropFirst()) : lowered
        return ["nan", "inf", "infinity"].contains(bare) ? .notFinite : .notANumber
    }
    guard count < 512 else { return .notANumber }
    var buffer = [CChar](repeating: 0, count: count + 1)
    for i in 0..<count { buffer[i] = CChar(bitPattern: p[i]) }
    return buffer.withUnsafeBufferPointer { b -> AmountParseResult in
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(b.baseAddress!, &end)
        guard let end, end - UnsafeMutablePointer(mutating: b.baseAddress!) == count else { return .notANumber }
        return value.isFinite ? .value(value) : .notFinite
    }
}
