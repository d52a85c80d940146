import Benchmark
import Foundation
import JobQueue
import Logging

/// The queue's own cost per job: 1,000 tiny jobs (a 40-byte JSON object) submitted, then run
/// by one worker whose runner only copies the job into its result directory — so what is
/// measured is the queue: the staged write and rename of submission, the claim rename, the
/// lease, the result's flush and rename into done/, the clean-up of running/, each with its
/// fsyncs. The goal is at most 10 ms per job. A fresh queue in the temporary directory per
/// iteration; the worker's share is the second benchmark less the first. With 4 jobs at a
/// time the kernel can commit several jobs' fsyncs in one journal commit.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(120),
        maxIterations: 10
    )
    let jobs = 1_000
    try? FileManager.default.removeItem(atPath: queuesDirectory)
    // Logging is measured apart: these benchmarks log only errors.
    var quiet = Logger(label: "clientele.benchmark")
    quiet.logLevel = .error

    Benchmark("submit \(jobs) tiny jobs") { benchmark in
        for _ in benchmark.scaledIterations {
            let queue = try freshQueue()
            for number in 0..<jobs { blackHole(try queue.submit(tinyJob(number))) }
        }
    }

    for concurrency in [1, 4] {
        Benchmark("submit \(jobs) tiny jobs, then one worker runs them, \(concurrency) at a time") { benchmark in
            for _ in benchmark.scaledIterations {
                let queue = try freshQueue()
                for number in 0..<jobs { _ = try queue.submit(tinyJob(number)) }
                let worker = Worker(queue: queue, concurrency: concurrency, runner: CopyRunner(), pollInterval: 1,
                                    leaseTimeout: 60, maxAttempts: 3, drain: true, logger: quiet)
                precondition(worker.run().done == jobs)
            }
        }
    }
}

/// Where the iterations' queues go; emptied when the suite starts.
let queuesDirectory = NSTemporaryDirectory() + "clientele-bench-queues"

func freshQueue() throws -> JobQueue {
    try FileManager.default.createDirectory(atPath: queuesDirectory, withIntermediateDirectories: true)
    return try JobQueue(at: queuesDirectory + "/\(UUID().uuidString)")
}

func tinyJob(_ number: Int) -> [UInt8] {
    Array("{\"name\": \"tiny-\(number)\", \"k\": 3}\n".utf8)
}

/// Copies the job into the result, as the placeholder runner of `clientele worker` does.
struct CopyRunner: JobRunner {
    func run(_ job: QueuedJob, into result: String, context: JobContext) throws {
        try Data(job.bytes).write(to: URL(fileURLWithPath: result + "/job.json"))
    }
}
