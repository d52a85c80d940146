#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64: fast, small, and the same
/// stream on every platform, which `SystemRandomNumberGenerator` is not.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform on (0, 1): never 0, so that its logarithm is finite.
    public mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    public mutating func standardNormal() -> Double {
        // Box–Muller; one of the pair is enough here.
        sqrt(-2 * log(uniform())) * cos(2 * Double.pi * uniform())
    }

    /// Exponential with the given rate.
    public mutating func exponential(rate: Double) -> Double {
        -log(uniform()) / rate
    }

    /// Gamma with shape `k` and rate `rate`, by Marsaglia & Tsang (2000), "A simple method
    /// for generating gamma variables"; shapes below 1 use the boost
    /// Gamma(k) = Gamma(k + 1) · U^(1/k).
    public mutating func gamma(shape k: Double, rate: Double) -> Double {
        if k < 1 {
            return gamma(shape: k + 1, rate: rate) * pow(uniform(), 1 / k)
        }
        let d = k - 1.0 / 3.0
        let c = 1 / sqrt(9 * d)
        while true {
            var x: Double, v: Double
            repeat {
                x = standardNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform()
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v / rate }
        }
    }

    /// Beta(a, b) as a ratio of gammas.
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(shape: a, rate: 1)
        let y = gamma(shape: b, rate: 1)
        return x / (x + y)
    }
}
