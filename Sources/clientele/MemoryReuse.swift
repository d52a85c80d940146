#if canImport(Glibc)
import CAllocator
import Glibc
#endif
import Foundation

/// How the process's allocator treats the large arrays the pipeline makes and drops.
///
/// glibc gives an allocation above its mmap threshold (128 KiB at first, raised on the fly
/// up to 32 MiB) a mapping of its own and unmaps it when it is freed, and it returns the top
/// of the heap to the kernel once more than twice that threshold is free. A million-customer
/// job makes and drops hundreds of columns of 8 MB, so each new column started on fresh pages
/// that the kernel had to fault in and zero: about a sixth of the run's CPU time went to page
/// faults. Raising the threshold to glibc's largest and never trimming on free lets a freed
/// column's memory serve the next one; a long-lived worker hands the memory back after each
/// job instead (`returnFreedMemory`). The largest threshold is 32 MiB, below a 10M-customer
/// job's 80 MB columns, so mappings of their own are turned off (`M_MMAP_MAX` 0) and every
/// thread allocates from the one heap (`M_ARENA_MAX` 1): a thread's arena of its own is made
/// of 64 MiB heaps, and glibc maps anything larger apart whatever `M_MMAP_MAX` says. Large
/// arrays then come from the heap, and a freed one's memory serves the next, whichever thread
/// made it. Small allocations, the ones threads could contend for, are served by each thread's
/// cache (tcache) without the heap's lock. At 10M customers this took a second of system
/// time (the kernel zeroing fresh pages) and about 280 MB of peak memory off the job.
///
/// The allocator is not asked for transparent huge pages (an earlier version started itself
/// again with `glibc.malloc.hugetlb=1`). In a virtual machine whose host takes back the
/// guest's free memory in 2 MiB blocks (free-page reporting), a huge page's first touch costs
/// the host a whole block: measured on the 2-core Xeon, 3–4.8 s per GB against 0.5–1.7 s per
/// GB in 4 KiB pages, and the 1M-customer job took 1.5–2.0 s in 4 KiB pages against
/// 1.8–2.8 s with huge pages. `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` still asks for them
/// where the memory is the machine's own.
enum MemoryReuse {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_ARENA_MAX, 1)
        #endif
    }

    /// For a worker running several jobs at once: an arena per thread again (glibc's default
    /// of eight per core), so that one job's allocations, and the heap's trim after a job, do
    /// not wait on the other jobs' lock. Called before any job's thread starts.
    static func allowArenaPerThread() {
        #if canImport(Glibc)
        _ = mallopt(M_ARENA_MAX, Int32(8 * ProcessInfo.processInfo.activeProcessorCount))
        #endif
    }

    static func returnFreedMemory() {
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
    }
}
