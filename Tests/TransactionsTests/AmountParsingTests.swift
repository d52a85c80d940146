#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Transactions

/// `parseAmount` against glibc's `strtod`, which rounds every decimal correctly: the same
/// double, bit for bit, on every path (Clinger's fast path, Eisel-Lemire, the fallback).
@Suite struct AmountParsingTests {
    /// What Clientele writes: Swift's shortest round-trip form of random doubles of every
    /// magnitude, which must read back as the same double.
    @Test func shortestRoundTripDoublesReadBackExactly() {
        var random = SplitMix64(seed: 7)
        var checked = 0
        while checked < 200_000 {
            let x = Double(bitPattern: random.next())
            guard x.isFinite else { continue }
            let text = "\(x)"
            #expect(parse(text) == x.bitPattern, "\(text)")
            checked += 1
        }
        // The magnitudes that result files hold, where Eisel-Lemire does the work.
        for _ in 0..<200_000 {
            let x = Double(random.next() >> 11) * 0x1p-53 * Double(1 << (random.next() % 40))
            let text = "\(x)"
            #expect(parse(text) == x.bitPattern, "\(text)")
        }
    }

    /// Random decimals of 1 to 19 digits with the point anywhere and exponents to ±80:
    /// halfway cases and near-halfway cases are among them by the million-to-one chances
    /// that random digits give, so the hand-picked ones follow.
    @Test func randomDecimalsRoundAsStrtodDoes() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<200_000 {
            let digitCount = Int(random.next() % 19) + 1
            var digits = ""
            for _ in 0..<digitCount { digits.append(Character(String(random.next() % 10))) }
            let point = Int(random.next() % UInt64(digitCount + 1))
            var text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            if random.next() % 2 == 0 { text += "e\(Int(random.next() % 161) - 80)" }
            if random.next() % 3 == 0 { text = "-" + text }
            guard text != ".", !text.hasPrefix(".e"), !text.hasPrefix("-.e"), text != "-." else { continue }
            #expect(parse(text) == strtodBits(text), "\(text)")
        }
    }

    @Test func halfwayAndBoundaryCasesRoundAsStrtodDoes() {
        let cases = [
            // 2^53 + 1 and + 3: exact ties, to even (down, then up).
            "9007199254740993", "9007199254740995", "9007199254740993.0", "90071992547409930e-1",
            // Just above and below a tie, within 19 digits.
            "9007199254740993.001", "9007199254740992.999", "1.000000000000000111", "1.000000000000000110",
            // Ties with a power of five in the tie (q in -4...23).
            "1152921504606847232e1", "4503599627370497.5", "4503599627370496.5", "2251799813685248.25",
            // Classic hard cases, the largest 19-digit mantissas, the table's ends.
            "7.3177701707893310e+15", "0.1", "0.3", "2.675", "5e-1", "1e23", "8.589973e9", "9999999999999999999",
            "18446744073709551615", "1e64", "1e-64", "9999999999999999999e45", "1e-83",
            // Outside the table: strtod.
            "2.2250738585072014e-308", "4.9406564584124654e-324", "1.7976931348623157e308", "1e-400",
            // Signs and zeros.
            "-0", "-0.0", "+0.5", "0e10", "-1e-5", "000000000000000000000000001.5",
        ]
        for text in cases {
            #expect(parse(text) == strtodBits(text), "\(text)")
        }
    }

    @Test func nonNumbersAndNonFiniteNumbersAreRefused() {
        for text in ["", "-", ".", "e5", "1e", "1e+", "1.5e5.5", "1,5", " 1", "1 ", "0x1p3", "1e99999", "1e400"] {
            #expect(parse(text) == nil, "\(text)")
        }
    }

    private func parse(_ text: String) -> UInt64? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return parseAmount(UnsafePointer(bitPattern: 1)!, 0).bits }
        return bytes.withUnsafeMutableBufferPointer { parseAmount($0.baseAddress!, $0.count) }.bits
    }

    private func strtodBits(_ text: String) -> UInt64 {
        text.withCString { strtod($0, nil).bitPattern }
    }
}

private extension AmountParseResult {
    var bits: UInt64? {
        if case .value(let value) = self { return value.bitPattern }
        return nil
    }
}

/// Steele, Lea and Flood's SplitMix64: a reproducible stream of 64-bit words.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
