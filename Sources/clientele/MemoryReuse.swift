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
enum MemoryReuse {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_ARENA_MAX, 1)
        #endif
    }

    /// Starts the process again, once, with glibc's `glibc.malloc.hugetlb=1` tunable, so that
    /// the allocator asks for transparent huge pages (`madvise(MADV_HUGEPAGE)`) on the memory
    /// it maps; where the kernel gives huge pages only to memory that asks (the `madvise`
    /// setting, Debian's default), a 10M-customer job otherwise spends a fifth of its CPU time
    /// faulting in and zeroing 4 KiB pages, one for every 4 KiB of each 80 MB column. Tunables
    /// are read only when a process starts, hence the `exec` of the same binary with the same
    /// arguments (and the same process id). Nothing happens when the environment already
    /// chooses (`GLIBC_TUNABLES=glibc.malloc.hugetlb=0` keeps the process as it started), when
    /// the kernel gives huge pages to every mapping or to none, or when `exec` fails.
    static func restartWithHugePages() {
        #if os(Linux)
        let name = "GLIBC_TUNABLES"
        let current = getenv(name).map { String(cString: $0) }
        guard !(current ?? "").contains("glibc.malloc.hugetlb"),
              let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
              mode.contains("[madvise]")
        else { return }
        setenv(name, (current.map { $0 + ":" } ?? "") + "glibc.malloc.hugetlb=1", 1)
        // The binary by its own path first, so that the process keeps its name (`ps`, `top`
        // and the kernel's messages show the executed file's name, "exe" for the link);
        // the link itself if that path is gone (a binary replaced while it ran).
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if readlink("/proc/self/exe", &target, target.count - 1) > 0 {
            execv(target, CommandLine.unsafeArgv)
        }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: exec failed; run as started.
        if let current { setenv(name, current, 1) } else { unsetenv(name) }
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
