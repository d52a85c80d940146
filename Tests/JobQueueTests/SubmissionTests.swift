import Foundation
@testable import JobQueue
import Testing

@Suite struct SubmissionTests {
    @Test func submitLeavesTheJobWholeInIncomingAndNothingInTmp() throws {
        let queue = try makeQueue()
        let id = try queue.submit(job(1))
        #expect(JobID.isValid(id))
        #expect(names(queue.incoming) == ["\(id).json"])
        #expect(contents("\(queue.incoming)/\(id).json") == job(1))
        #expect(names(queue.tmp).isEmpty)
    }

    @Test func jobIDsAreUniqueAndOrderedByTime() throws {
        let ids = (0..<2000).map { _ in JobID.make() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.map { JobID.submissionTime(of: $0)! } == ids.map { JobID.submissionTime(of: $0)! }.sorted())
        let stamp = try #require(JobID.submissionTime(of: "20261130T084950.250000Z-1a2b3c4d-42-1"))
        #expect(stamp == 1_796_028_590.25)
    }

    @Test func idsThatCouldLeaveTheQueueAreRefused() {
        for id in ["", ".", "..", "../etc", "a/b", "x/../../y", "..json", ".hidden", "a..b", "x y", "é", String(repeating: "a", count: 201)] {
            #expect(!JobID.isValid(id), "\(id)")
        }
        for id in ["cdnow-q1", "20261130T084950.123456Z-1a2b3c4d-42-1", "A_b.c-9", String(repeating: "a", count: 200)] {
            #expect(JobID.isValid(id), "\(id)")
        }
    }

    @Test func submitRefusesAHugeFileWithoutReadingIt() throws {
        let queue = try makeQueue()
        let path = queue.root + "/huge.json"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        #expect(throws: QueueError.refused(path, "is 1073741824 bytes; a job file may be at most 1048576 bytes")) {
            try queue.submit(fileAt: path) { _, _ in }
        }
        #expect(names(queue.incoming).isEmpty)
        #expect(names(queue.tmp).isEmpty)
    }

    @Test func theValidationHookRefusesBeforeTheQueueIsTouched() throws {
        let queue = try makeQueue()
        let path = queue.root + "/job.json"
        try Data(job(1)).write(to: URL(fileURLWithPath: path))
        struct Refusal: Error {}
        #expect(throws: Refusal.self) { try queue.submit(fileAt: path) { _, _ in throw Refusal() } }
        #expect(names(queue.incoming).isEmpty)
        let id = try queue.submit(fileAt: path) { bytes, file in #expect(bytes == job(1) && file == path) }
        #expect(names(queue.incoming) == ["\(id).json"])
    }
}
