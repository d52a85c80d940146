#if canImport(Glibc)
import CAllocator
#endif

/// How the process's allocator treats the large arrays the pipeline makes and drops.
///
/// glibc gives an allocation above its mmap threshold (128 KiB at first, raised on the fly
/// up to 32 MiB) a mapping of its own and unmaps it when it is freed, and it returns the top
/// of the heap to the kernel once more than twice that threshold is free. A million-customer
/// job makes and drops hundreds of columns of 8 MB, so each new column started on fresh pages
/// that the kernel had to fault in and zero: about a sixth of the run's CPU time went to page
/// faults. Raising the threshold to glibc's largest and never trimming on free lets a freed
/// column's memory serve the next one; a long-lived worker hands the memory back after each
/// job instead (`returnFreedMemory`).
enum MemoryReuse {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        #endif
    }

    static func returnFreedMemory() {
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
    }
}
