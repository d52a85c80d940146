import Foundation
@testable import JobQueue
import Synchronization
import Testing

@Suite struct ClaimTests {
    /// Eight threads, each its own owner, race for 400 jobs: every job is claimed, none twice.
    @Test func concurrentClaimersInThreadsEachWinADifferentJob() throws {
        let queue = try makeQueue()
        let submitted = Set(try (0..<400).map { try queue.submit(job($0)) })
        let claimed = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let identity = WorkerIdentity.make()
            var mine: [String] = []
            while let candidates = try? queue.listIncoming().candidates, !candidates.isEmpty {
                for name in candidates {
                    if let claim = try? queue.claim(name, as: identity) { mine.append(claim.id) }
                }
            }
            claimed.withLock { $0.append(contentsOf: mine) }
        }
        let all = claimed.withLock { $0 }
        #expect(all.count == 400)
        #expect(Set(all) == submitted)
        #expect(names(queue.incoming).isEmpty)
        #expect(names(queue.running).count == 800)
    }

    @Test func aClaimWritesALeaseNamingItsHolder() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        let identity = WorkerIdentity.make()
        let claim = try #require(try queue.claim("\(id).json", as: identity))
        #expect(claim.attempt == 1)
        let lease = try #require(queue.readLease(id))
        #expect(lease.owner == identity.owner && lease.pid == getpid() && lease.attempt == 1)
        #expect(try queue.claim("\(id).json", as: WorkerIdentity.make()) == nil)
        #expect(queue.renew(claim, as: identity))
        #expect(!queue.renew(claim, as: WorkerIdentity.make()))
    }

    @Test func aFileWhoseNameIsNoJobIDIsClaimedUnderANewID() throws {
        let queue = try makeQueue()
        try Data(job(1)).write(to: URL(fileURLWithPath: queue.incoming + "/x y.json"))
        try Data(job(2)).write(to: URL(fileURLWithPath: queue.incoming + "/.partial"))
        #expect(try queue.listIncoming().candidates == ["x y.json"])
        let claim = try #require(try queue.claim("x y.json", as: .make()))
        #expect(claim.invalidName == "x y.json")
        #expect(JobID.isValid(claim.id))
        #expect(contents(claim.jobFile) == job(1))
    }
}
