#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Customer summaries drawn straight from a model's generative story, for recovery tests
/// (fit, and the truth must lie inside the reported intervals) and for benchmarks of the fits
/// at scale. Each customer has its own stream (seed and index), so the draws do not depend on
/// the order or number of threads that make them.
public struct SyntheticHistories: Sendable {
    public var frequency: [Double] = []
    public var recency: [Double] = []
    public var T: [Double] = []
    /// Mean spend of the repeat purchases (Gamma-Gamma), 0 for customers without repeats.
    public var monetaryValue: [Double] = []

    /// The purchase process behind a summary.
    public enum Process: Sendable {
        /// Poisson purchases at λ ~ Gamma(r, α); after each purchase, dropout with p ~ Beta(a, b).
        case bgnbd(r: Double, alpha: Double, a: Double, b: Double)
        /// As BG/NBD, with one more dropout chance right after the first purchase.
        case mbgnbd(r: Double, alpha: Double, a: Double, b: Double)
        /// Poisson purchases at λ ~ Gamma(r, α) for an exponential lifetime of rate μ ~ Gamma(s, β).
        case paretoNBD(r: Double, alpha: Double, s: Double, beta: Double)
        /// At each whole opportunity: alive customers buy with p ~ Beta(α, β), then die with θ ~ Beta(γ, δ).
        case bgbb(alpha: Double, beta: Double, gamma: Double, delta: Double)
    }

    /// `customers` customers observed for T drawn uniformly from `ages` (whole opportunities
    /// for BG/BB), with Gamma-Gamma spend (p, q, γ) per repeat purchase.
    public init(_ process: Process, customers: Int, ages: ClosedRange<Double>, spend: (p: Double, q: Double, gamma: Double) = (6.25, 3.74, 15.44),
                seed: UInt64) {
        frequency.reserveCapacity(customers)
        recency.reserveCapacity(customers)
        T.reserveCapacity(customers)
        monetaryValue.reserveCapacity(customers)
        for c in 0..<customers {
            var random = SeededRandom(seed: seed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15)
            var age = ages.lowerBound + random.uniform() * (ages.upperBound - ages.lowerBound)
            var x = 0.0, tx = 0.0
            switch process {
            case let .bgnbd(r, alpha, a, b), let .mbgnbd(r, alpha, a, b):
                let lambda = random.gamma(shape: r, rate: alpha), p = random.beta(a, b)
                if case .mbgnbd = process, random.uniform() < p { break }
                var clock = random.exponential(rate: lambda)
                while clock <= age {
                    x += 1
                    tx = clock
                    if random.uniform() < p { break }
                    clock += random.exponential(rate: lambda)
                }
            case let .paretoNBD(r, alpha, s, beta):
                let lambda = random.gamma(shape: r, rate: alpha)
                let end = min(age, random.exponential(rate: random.gamma(shape: s, rate: beta)))
                var clock = random.exponential(rate: lambda)
                while clock <= end {
                    x += 1
                    tx = clock
                    clock += random.exponential(rate: lambda)
                }
            case let .bgbb(alpha, beta, gamma, delta):
                age = age.rounded()
                let p = random.beta(alpha, beta), theta = random.beta(gamma, delta)
                var opportunity = 1.0
                while opportunity <= age, random.uniform() >= theta {
                    if random.uniform() < p {
                        x += 1
                        tx = opportunity
                    }
                    opportunity += 1
                }
            }
            var mean = 0.0
            if x > 0 {
                let nu = random.gamma(shape: spend.q, rate: spend.gamma)
                for _ in 0..<Int(x) { mean += random.gamma(shape: spend.p, rate: nu) }
                mean /= x
            }
            frequency.append(x)
            recency.append(tx)
            T.append(age)
            monetaryValue.append(mean)
        }
    }
}
