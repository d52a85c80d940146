import Crypto

/// The fingerprint that ties a model file to the data it was fitted on: SHA-256 of the values,
/// laid out in a fixed binary form, written `sha256:` and 64 hexadecimal digits.
///
/// It is taken of the values, not of a file's text, so the same data give the same fingerprint
/// however their CSV is written (quoted or not, `1` or `1.0`, CRLF or LF), and a job's models
/// carry the fingerprint that `clientele fit` records for the same summary saved by
/// `clientele summarize`. The values are hashed straight from the columns' memory: at a million
/// customers that is about 70 MB, a few hundredths of a second, where rendering the CSV to hash
/// its text took a third of a second of CPU.
///
/// The layout, which `Tests/TransactionsTests/Fixtures/fingerprint_fixture.py` reproduces
/// independently: a text header (UTF-8), then every column whole, one after the other; integers
/// as 64-bit two's complement and doubles as their IEEE 754 bits, both little-endian.
public struct DataFingerprint {
    private var hash = SHA256()

    public init(header: String) {
        hash.update(data: Array(header.utf8))
    }

    public mutating func add(_ values: [Double]) {
        #if _endian(little)
        values.withUnsafeBytes { hash.update(bufferPointer: $0) }
        #else
        values.map(\.bitPattern.littleEndian).withUnsafeBytes { hash.update(bufferPointer: $0) }
        #endif
    }

    /// Integers as 64 bits each, whatever the platform's `Int`.
    public mutating func add(_ values: [Int]) {
        #if _endian(little)
        if Int.bitWidth == 64 {
            values.withUnsafeBytes { hash.update(bufferPointer: $0) }
            return
        }
        #endif
        values.map { Int64($0).littleEndian }.withUnsafeBytes { hash.update(bufferPointer: $0) }
    }

    public mutating func add(bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { hash.update(bufferPointer: $0) }
    }

    /// `sha256:` and the digest in 64 hexadecimal digits.
    public var text: String {
        let hex: [Character] = Array("0123456789abcdef")
        var text = "sha256:"
        for byte in hash.finalize() {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 15)])
        }
        return text
    }
}

extension CustomerSummary {
    /// The summary's fingerprint. The layout:
    ///
    /// 1. the header `clientele summary\n` and Clientele's names of the columns, as
    ///    `clientele summarize` writes them (`csvColumns`, then `weights` when rows carry
    ///    weights), joined by commas, then `\n`, whatever a file read in called them;
    /// 2. the number of customers;
    /// 3. the ids: their `count + 1` byte offsets (0, then where each id ends), then their bytes
    ///    end to end (a file without an id column has its rows numbered 1, 2, … as ids);
    /// 4. `frequency`, `recency`, `T`, `monetary_value` (when there is one), then the holdout's
    ///    `frequency_holdout`, `monetary_value_holdout` (when there is one) and its duration
    ///    (one number), then the weights (when there are any).
    public var fingerprint: String {
        let columns = csvColumns + (weights == nil ? [] : ["weights"])
        var fingerprint = DataFingerprint(header: "clientele summary\n" + columns.joined(separator: ",") + "\n")
        fingerprint.add([count])
        // Every CustomerIDs starts its offsets at 0.
        fingerprint.add(customerIDs.offsets)
        fingerprint.add(bytes: customerIDs.bytes[0..<customerIDs.offsets[count]])
        fingerprint.add(frequency)
        fingerprint.add(recency)
        fingerprint.add(T)
        if let monetaryValue { fingerprint.add(monetaryValue) }
        if let holdout {
            fingerprint.add(holdout.frequency)
            if let values = holdout.monetaryValue { fingerprint.add(values) }
            fingerprint.add([holdout.duration])
        }
        if let weights { fingerprint.add(weights) }
        return fingerprint.text
    }
}

extension RetentionTable {
    /// The fingerprint of the customers still active at the start of each period that an sBG
    /// model is fitted on: the header `clientele survivors\n`, their number, then the counts.
    public static func fingerprint(_ active: [Double]) -> String {
        var fingerprint = DataFingerprint(header: "clientele survivors\n")
        fingerprint.add([active.count])
        fingerprint.add(active)
        return fingerprint.text
    }
}
