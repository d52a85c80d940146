import Foundation
@testable import JobQueue
import Synchronization

/// A fresh queue in its own temporary directory.
func makeQueue() throws -> JobQueue {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-queue-\(UUID().uuidString)")
    return try JobQueue(at: root.path)
}

func names(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

func contents(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

func errorReport(_ queue: JobQueue, _ id: String) -> FailureReport? {
    contents("\(queue.failed)/\(id)/error.json").flatMap { try? JSONDecoder().decode(FailureReport.self, from: Data($0)) }
}

/// The pid of a process that has run and been reaped, so that `kill(pid, 0)` fails with
/// ESRCH (until the kernel hands the pid out again, which takes a whole cycle of pids).
func deadPid() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}

/// An identity on another host, whose pid cannot be asked about.
func remoteIdentity() -> WorkerIdentity {
    WorkerIdentity(host: "elsewhere.example", bootID: "another-boot", pid: 4242, nonce: 7)
}

func job(_ number: Int) -> [UInt8] {
    Array("{\"name\": \"job-\(number)\"}\n".utf8)
}

/// A runner that counts its runs and does what it is told: copy the job into the result,
/// throw a job failure, or throw some other error.
final class ScriptedRunner: JobRunner {
    enum Behaviour: Sendable {
        case copy
        case jobFailure(JobFailure)
        case fault(String)
        case write(bytes: Int)
    }

    struct Fault: Error, CustomStringConvertible {
        let description: String
    }

    let behaviour: Behaviour
    let runs = Atomic<Int>(0)

    init(_ behaviour: Behaviour) {
        self.behaviour = behaviour
    }

    func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
        runs.add(1, ordering: .relaxed)
        switch behaviour {
        case .copy:
            try Data(job.bytes).write(to: URL(fileURLWithPath: result + "/job.json"))
            try Data("ran \(job.id) attempt \(job.attempt)\n".utf8).write(to: URL(fileURLWithPath: result + "/log.txt"))
        case .jobFailure(let failure):
            throw failure
        case .fault(let reason):
            throw Fault(description: reason)
        case .write(let count):
            try Data("started\n".utf8).write(to: URL(fileURLWithPath: result + "/log.txt"))
            try Data(repeating: 7, count: count).write(to: URL(fileURLWithPath: result + "/big.bin"))
        }
    }
}

/// A worker that exits once the queue is empty, with short timeouts.
func drainingWorker(_ queue: JobQueue, _ runner: any JobRunner, maxAttempts: Int = 3,
                    identity: WorkerIdentity = .make()) -> Worker {
    Worker(queue: queue, concurrency: 2, runner: runner, pollInterval: 0.05, leaseTimeout: 30,
           maxAttempts: maxAttempts, drain: true, gracePeriod: 5, identity: identity)
}
