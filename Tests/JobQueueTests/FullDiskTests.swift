import Foundation
@testable import JobQueue
import Testing

/// A result that does not fit: the queue sits on a 256 KiB tmpfs and the job writes 1 MiB.
/// Needs `mount -t tmpfs` (root); without it the test says why and checks nothing.
@Suite struct FullDiskTests {
    func mountSmallTmpfs() throws -> String? {
        let point = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=256k", "tmpfs", point]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: point)
            return nil
        }
        return point
    }

    func unmount(_ point: String) throws {
        let umount = try Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: [point])
        umount.waitUntilExit()
        try FileManager.default.removeItem(atPath: point)
    }

    @Test func aResultThatDoesNotFitIsRetriedThenFailedAndNothingHalfWrittenIsDone() throws {
        guard let point = try mountSmallTmpfs() else {
            print("FullDiskTests skipped: mount -t tmpfs failed (it needs root)")
            return
        }
        defer { try? unmount(point) }
        let queue = try JobQueue(at: point + "/queue")
        let id = try queue.submit(job(1))
        let runner = ScriptedRunner(.write(bytes: 1 << 20))
        let summary = drainingWorker(queue, runner, maxAttempts: 2).run()
        #expect(runner.runs.load(ordering: .relaxed) == 2)
        #expect(summary.retried == 1 && summary.failed == 1)
        #expect(names(queue.done).isEmpty)
        #expect(names(queue.tmp).isEmpty && names(queue.running).isEmpty && names(queue.incoming).isEmpty)
        let report = try #require(errorReport(queue, id))
        #expect(report.kind == .poison)
        #expect(report.what.contains("No space left on device"), "\(report.what)")
        #expect(contents("\(queue.failed)/\(id)/job.json") == job(1))
        #expect(contents("\(queue.failed)/\(id)/log.txt") == nil)
    }
}
