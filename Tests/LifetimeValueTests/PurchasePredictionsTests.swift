import Foundation
import Simulation
import Testing
@testable import LifetimeValue

/// The predictions every purchase model shares, checked against each other, against
/// lifetimes and against simulation from the models' own posteriors.
@Suite struct PurchasePredictionsTests {
    static func models() throws -> [(String, any PurchasePredicting)] {
        let bg = try lifetimesParameters("bgnbd"), mbg = try lifetimesParameters("mbgnbd")
        return [("bgnbd", try BGNBD(r: bg["r"]!, alpha: bg["alpha"]!, a: bg["a"]!, b: bg["b"]!)),
                ("mbgnbd", try MBGNBD(r: mbg["r"]!, alpha: mbg["alpha"]!, a: mbg["a"]!, b: mbg["b"]!)),
                ("pnbd", try lifetimesParetoNBD())]
    }

    static let histories: [(x: Double, tx: Double, T: Double)] = [(0, 0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (14, 35, 39), (0, 0, 0)]

    /// Σ P(n) = 1 and Σ n P(n) = E[X(t)]: the distribution and the expectation, derived
    /// separately, must agree.
    @Test func probabilitiesOfNPurchasesSumToOneAndToTheExpectation() throws {
        for (name, model) in try Self.models() {
            for h in Self.histories {
                var total = 0.0, mean = 0.0
                for n in 0..<600 {
                    let p = model.probabilityOfPurchases(n, in: 39, frequency: h.x, recency: h.tx, T: h.T)
                    #expect(p >= 0 && p <= 1)
                    total += p
                    mean += Double(n) * p
                }
                let expected = model.expectedPurchases(in: 39, frequency: h.x, recency: h.tx, T: h.T)
                #expect(abs(total - 1) < 1e-9, "\(name) \(h): Σ P(n) = \(total)")
                #expect(relativeDifference(mean, expected) < 1e-7, "\(name) \(h): Σ n P(n) = \(mean) vs \(expected)")
            }
        }
    }

    /// BG/NBD's probability of fewer than n purchases, taken in one pass, is the running sum of
    /// the probabilities of each count to 1e-12, and reaches 1 for a count far above the
    /// expectation (one pass, where a sum of counts each summing its own tail would take
    /// 2,000²/2 terms per customer).
    @Test func fewerThanNPurchasesIsTheSumOfEachCount() throws {
        let bg = try lifetimesParameters("bgnbd")
        let model = try BGNBD(r: bg["r"]!, alpha: bg["alpha"]!, a: bg["a"]!, b: bg["b"]!)
        for h in Self.histories {
            var sum = 0.0
            for n in 0...40 {
                let fewer = model.probabilityOfFewerPurchases(than: n, in: 39, frequency: h.x, recency: h.tx, T: h.T)
                #expect(relativeDifference(fewer, sum) < 1e-12 || abs(fewer - sum) < 1e-300, "\(h) n = \(n): \(fewer) vs \(sum)")
                sum += model.probabilityOfPurchases(n, in: 39, frequency: h.x, recency: h.tx, T: h.T)
            }
            let all = model.probabilityOfFewerPurchases(than: 2_000, in: 39, frequency: h.x, recency: h.tx, T: h.T)
            #expect(abs(all - 1) < 1e-9, "\(h): \(all)")
            // Summed as the counts come, with no arrays: the bits of the counts' own sum, over
            // no time as well.
            for n in [0, 1, 2, 7, 40] {
                for t in [0.0, 1, 39, 520] {
                    let counts = model.probabilitiesOfPurchases(below: n, in: t, frequency: h.x, recency: h.tx, T: h.T)
                    let fewer = model.probabilityOfFewerPurchases(than: n, in: t, frequency: h.x, recency: h.tx, T: h.T)
                    #expect(fewer.bitPattern == counts.reduce(0, +).bitPattern, "\(h) n = \(n), t = \(t)")
                }
            }
        }
    }

    /// Every model's probabilities of 0 … n − 1 purchases, taken together in one pass, are
    /// each count's own to 1e-10, or to 1e-13 where a small probability takes the rounding of
    /// P(N > n) = 1 − P(N ≤ n), which both ways share: the counts together run recurrences (the
    /// negative binomial's, and BG/NBD's and MBG/NBD's beta ratios) where one count takes lgamma. Over
    /// a thousand counts too, over a horizon long enough to spread a frequent buyer's
    /// purchases across hundreds of them, where the recurrences' rounding has longest to grow.
    @Test func probabilitiesOfEachCountTogetherAreEachCountsOwn() throws {
        for (name, model) in try Self.models() {
            for (h, t, counts) in Self.histories.map({ ($0, 39.0, 41) }) + [(Self.histories[3], 3_000.0, 1_000)] {
                let together = model.probabilitiesOfPurchases(below: counts, in: t, frequency: h.x, recency: h.tx, T: h.T)
                let one = (0..<counts).map { model.probabilityOfPurchases($0, in: t, frequency: h.x, recency: h.tx, T: h.T) }
                #expect(together.count == counts)
                let worst = zip(together, one).enumerated().first { !(relativeDifference($1.0, $1.1) < 1e-10 || abs($1.0 - $1.1) < 1e-13) }
                #expect(worst == nil, "\(name) \(h) t = \(t): count \(worst?.offset ?? -1): \(worst?.element.0 ?? 0) vs \(worst?.element.1 ?? 0)")
            }
        }
    }

    /// The expectation's closed form is 0/0 at a = 1 exactly, where it gave 0 purchases (and
    /// 0 CLV): it is now continuous through a = 1 and equals Σ n P(n) there.
    @Test func expectedPurchasesAreContinuousThroughAEqualToOne() throws {
        for make in [{ try BGNBD(r: 0.24, alpha: 4.4, a: $0, b: 2.4) as any PurchasePredicting },
                     { try MBGNBD(r: 0.24, alpha: 4.4, a: $0, b: 2.4) as any PurchasePredicting }] {
            for h in Self.histories {
                let at = try make(1).expectedPurchases(in: 52, frequency: h.x, recency: h.tx, T: h.T)
                let below = try make(1 - 1e-5).expectedPurchases(in: 52, frequency: h.x, recency: h.tx, T: h.T)
                let above = try make(1 + 1e-5).expectedPurchases(in: 52, frequency: h.x, recency: h.tx, T: h.T)
                #expect(at > 0 && relativeDifference(at, (below + above) / 2) < 1e-8, "\(h): \(below) \(at) \(above)")
                let counts = try make(1).probabilitiesOfPurchases(below: 3_000, in: 52, frequency: h.x, recency: h.tx, T: h.T)
                let mean = counts.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
                #expect(relativeDifference(at, mean) < 1e-7, "\(h): \(at) vs Σ n P(n) = \(mean)")
            }
        }
    }

    /// Where the closed form's hypergeometric function loses its digits (r in the hundreds or
    /// α near 0 with a far above b, ages near 0), the expectation is summed from its series
    /// instead: it gave 6.9e77, 0 or NaN purchases for parameters inside the tested range. The
    /// reference is Σ n P(n) from the counts' own recurrences (and, for the first, mpmath's
    /// 1.0101 from lifetimes' closed form at 50 digits).
    @Test func expectedPurchasesHoldWhereTheClosedFormLosesItsDigits() throws {
        let cases: [(BGNBD, Double)] = [(try BGNBD(r: 1000, alpha: 100, a: 100, b: 1), 0.01), (try BGNBD(r: 1000, alpha: 100, a: 100, b: 1), 10),
                                        (try BGNBD(r: 0.01, alpha: 0.001, a: 1000, b: 1), 0.01)]
        for (model, T) in cases {
            let expected = model.expectedPurchases(in: 52, frequency: 0, recency: 0, T: T)
            let counts = model.probabilitiesOfPurchases(below: 5_000, in: 52, frequency: 0, recency: 0, T: T)
            let mean = counts.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
            #expect(expected.isFinite && relativeDifference(expected, mean) < 1e-8, "\(model) T = \(T): \(expected) vs Σ n P(n) = \(mean)")
        }
        #expect(abs(cases[0].0.expectedPurchases(in: 52, frequency: 0, recency: 0, T: 0.01) - 1.0101) < 1e-4)
    }

    /// lifetimes' `probability_of_n_purchases_up_to_time(39, n)` for a new customer (the
    /// BG/NBD paper's eq. 8, and its MBG/NBD counterpart).
    @Test func newCustomerProbabilitiesEqualLifetimes() throws {
        let fits = try lifetimesFits()
        for (name, model) in try Self.models() where name != "pnbd" {
            let expected = (fits[name] as! [String: Any])["probability_of_n_purchases_39"] as! [Double]
            for (n, value) in expected.enumerated() {
                let p = model.probabilityOfPurchases(n, in: 39, frequency: 0, recency: 0, T: 0)
                #expect(relativeDifference(p, value) < 1e-6, "\(name) n = \(n): \(p) vs \(value)")
            }
        }
    }

    /// P(alive at T + t) against simulation: draw alive-or-not, then the posterior rates, then
    /// the future (100,000 draws, so the standard error is below 0.0016).
    @Test func futureAliveProbabilityMatchesSimulation() throws {
        var random = SeededRandom(seed: 42)
        let bg = try lifetimesParameters("bgnbd")
        let bgnbd = try BGNBD(r: bg["r"]!, alpha: bg["alpha"]!, a: bg["a"]!, b: bg["b"]!)
        let pnbd = try lifetimesParetoNBD()
        let (x, tx, T, t) = (3.0, 20.0, 38.0, 26.0)
        let draws = 100_000
        var aliveBG = 0, alivePNBD = 0
        let pBG = bgnbd.pAlive(frequency: x, recency: tx, T: T), pPNBD = pnbd.pAlive(frequency: x, recency: tx, T: T)
        for _ in 0..<draws {
            if random.uniform() < pBG {
                let lambda = random.gamma(shape: bgnbd.r + x, rate: bgnbd.alpha + T)
                let p = random.beta(bgnbd.a, bgnbd.b + x)
                var clock = random.exponential(rate: lambda)
                var alive = true
                while clock <= t, alive {
                    alive = random.uniform() >= p
                    clock += random.exponential(rate: lambda)
                }
                if alive { aliveBG += 1 }
            }
            if random.uniform() < pPNBD {
                let mu = random.gamma(shape: pnbd.s, rate: pnbd.beta + T)
                if random.exponential(rate: mu) > t { alivePNBD += 1 }
            }
        }
        #expect(abs(Double(aliveBG) / Double(draws) - bgnbd.pAlive(after: t, frequency: x, recency: tx, T: T)) < 0.006)
        #expect(abs(Double(alivePNBD) / Double(draws) - pnbd.pAlive(after: t, frequency: x, recency: tx, T: T)) < 0.006)
    }

    /// The tracking chart's curve adds each acquisition cohort's new-customer expectation from
    /// its own start.
    @Test func cohortCumulativePurchasesAddCohortsFromTheirStart() throws {
        for (name, model) in try Self.models() {
            let curve = model.cohortCumulativePurchases(at: [0, 5, 20, 60], ages: [39, 39, 30, 10])
            let byHand = [0.0, 5, 20, 60].map { t in
                2 * model.expectedPurchases(in: t) + model.expectedPurchases(in: max(0, t - 9)) + model.expectedPurchases(in: max(0, t - 29))
            }
            for (value, expected) in zip(curve, byHand) {
                #expect(abs(value - expected) <= 1e-12 * max(1, expected), "\(name)")
            }
            #expect(curve[0] == 0 && curve[1] < curve[2] && curve[2] < curve[3])
        }
    }
}
