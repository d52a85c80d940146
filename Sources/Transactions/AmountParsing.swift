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

/// 10^k for k in 0...22, the powers of ten that are exact in a Double; a switch compiles to a
/// constant table, where a global array would be initialised lazily and checked on each call.
@inline(__always)
private func exactPowerOfTen(_ k: Int) -> Double {
    switch k {
    case 0: 1
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    case 10: 1e10
    case 11: 1e11
    case 12: 1e12
    case 13: 1e13
    case 14: 1e14
    case 15: 1e15
    case 16: 1e16
    case 17: 1e17
    case 18: 1e18
    case 19: 1e19
    case 20: 1e20
    case 21: 1e21
    default: 1e22
    }
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
    if let value = parsePlainAmount(p, count) { return .value(value) }
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
    let magnitude = Double(mantissa) / exactPowerOfTen(fractionDigits)
    return .value(negative ? -magnitude : magnitude)
}

/// The common case of `parseAmount`, with the same result: an optional `-`, 1 to 15 digits
/// with at most one `.` among or after them. nil for anything else, which the general
/// loop then reads.
@inline(__always)
private func parsePlainAmount(_ p: UnsafePointer<UInt8>, _ count: Int) -> Double? {
    let negative = p[0] == UInt8(ascii: "-")
    var i = negative ? 1 : 0
    guard count - i <= 16 else { return nil }
    var mantissa: UInt64 = 0
    var pointAt = -1
    while i < count {
        let d = UInt64(p[i]) &- 48
        if d <= 9 {
            mantissa = mantissa &* 10 &+ d
        } else if p[i] == UInt8(ascii: "."), pointAt < 0 {
            pointAt = i
        } else {
            return nil
        }
        i += 1
    }
    let digits = count - (negative ? 1 : 0) - (pointAt >= 0 ? 1 : 0)
    guard digits >= 1, digits <= 15 else { return nil }
    let magnitude = pointAt >= 0 ? Double(mantissa) / exactPowerOfTen(count - 1 - pointAt) : Double(mantissa)
    return negative ? -magnitude : magnitude
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
