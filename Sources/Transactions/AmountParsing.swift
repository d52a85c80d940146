#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `parseAmount` made of a field.
public enum AmountParseResult {
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

/// Parses a decimal amount with `.` as the decimal point (`12`, `-3.50`, `1e3`,
/// `30.181479301025487`), rounded to the nearest double (ties to even), as `strtod` rounds.
///
/// The digits are read as an integer mantissa w and a power of ten q. Most amounts have few
/// digits and w ≤ 2^53, |q| ≤ 22: then w and 10^|q| are exact doubles and one IEEE 754
/// multiplication or division rounds correctly (Clinger's fast path). Shortest round-trip
/// doubles (what Clientele writes) have up to 17 digits, beyond 2^53: up to 19 digits and q
/// in the table's range go through `eiselLemire`, which is exact too. Longer numbers and
/// farther exponents go to `strtod`. `nan`, `inf` and hexadecimal floats, which `strtod`
/// would accept, are refused: an amount must be a finite decimal number.
@inline(__always)
public func parseAmount(_ p: UnsafePointer<UInt8>, _ count: Int) -> AmountParseResult {
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
    var seenDigit = false
    while i < count {
        let b = p[i]
        if b >= 48, b <= 57 {
            if digitCount < 19 {
                mantissa = mantissa &* 10 &+ UInt64(b - 48)
                if mantissa != 0 { digitCount += 1 }
                if seenPoint { fractionDigits += 1 }
                seenDigit = true
            } else {
                return slowParse(p, count)
            }
        } else if b == UInt8(ascii: "."), !seenPoint {
            seenPoint = true
        } else if b | 0x20 == UInt8(ascii: "e"), seenDigit {
            break
        } else {
            return slowParse(p, count)
        }
        i += 1
    }
    guard seenDigit else { return .notANumber }
    var exponent = 0
    if i < count {
        i += 1
        var exponentNegative = false
        if i < count, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") {
            exponentNegative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        let exponentStart = i
        while i < count, i - exponentStart < 4, p[i] >= 48, p[i] <= 57 {
            exponent = exponent * 10 + Int(p[i] - 48)
            i += 1
        }
        guard i == count, i > exponentStart else { return slowParse(p, count) }
        if exponentNegative { exponent = -exponent }
    }
    let q = exponent - fractionDigits
    let magnitude: Double
    if mantissa == 0 {
        magnitude = 0
    } else if mantissa <= 1 << 53, q >= -22, q <= 22 {
        magnitude = q < 0 ? Double(mantissa) / exactPowerOfTen(-q) : Double(mantissa) * exactPowerOfTen(q)
    } else if let exact = eiselLemire(mantissa, q) {
        magnitude = exact
    } else {
        return slowParse(p, count)
    }
    return .value(negative ? -magnitude : magnitude)
}

/// w · 10^q rounded to the nearest double, ties to even, for 0 < w < 2^64 and q within
/// `PowersOfFive`' range; nil outside it. Eisel and Lemire's algorithm (D. Lemire, "Number
/// parsing at a gigabyte per second", Software: Practice and Experience 51(8), 2021):
/// 10^q = 5^q · 2^q, and the powers of two only move the exponent, so the significand is
/// the top bits of w · 5^q. With w shifted to fill 64 bits and 5^q held to 128 bits, the
/// 192-bit product's top 64 bits give the 53-bit significand plus a rounding bit; when the
/// 64 bits below the first product's top 55 are all ones the second word of 5^q is needed.
/// Mushtak and Lemire ("Fast number parsing without fallback", 2023) prove that this
/// always decides the rounding for w < 2^64; the one remaining case, an exact tie, can only
/// arise for −4 ≤ q ≤ 23, where 5^|q| is small enough for the product to be exact, and is
/// rounded to even. The table's range, 10^±64, keeps every result normal and finite.
@inline(__always)
private func eiselLemire(_ w: UInt64, _ q: Int) -> Double? {
    guard q >= PowersOfFive.smallestExponent, q <= PowersOfFive.largestExponent else { return nil }
    let leadingZeros = w.leadingZeroBitCount
    let normalized = w << leadingZeros
    let index = 2 * (q - PowersOfFive.smallestExponent)
    var (high, low) = normalized.multipliedFullWidth(by: PowersOfFive.significands[index])
    if high & 0x1FF == 0x1FF {
        let (sum, carry) = low.addingReportingOverflow(normalized.multipliedFullWidth(by: PowersOfFive.significands[index + 1]).high)
        low = sum
        if carry { high &+= 1 }
    }
    // 54 bits (the significand and one rounding bit), starting at the product's top bit.
    let upperBit = Int(high >> 63)
    let shift = upperBit + 9
    var significand = high >> shift
    // floor(q · log2(10)) + 63, plus the bias of the stored exponent.
    var biasedExponent = ((217_706 * q) >> 16) + 63 + upperBit - leadingZeros + 1023
    if low <= 1, q >= -4, q <= 23, significand & 3 == 1, significand << shift == high {
        significand &= ~1
    }
    significand += significand & 1
    significand >>= 1
    if significand >= 1 << 53 {
        significand = 1 << 52
        biasedExponent += 1
    }
    return Double(bitPattern: UInt64(biasedExponent) << 52 | (significand & ((1 << 52) - 1)))
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
