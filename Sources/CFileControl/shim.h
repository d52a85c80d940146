// The open(2) flag that writes past the page cache. Swift's Glibc module leaves `O_DIRECT`
// out (glibc defines it only under _GNU_SOURCE); the per-architecture `__O_DIRECT` behind it
// is always defined. Zero where the system has neither, which turns direct writes off.
#include <fcntl.h>

static inline int clientele_direct_io_flag(void) {
#if defined(__O_DIRECT)
    return __O_DIRECT;
#elif defined(O_DIRECT)
    return O_DIRECT;
#else
    return 0;
#endif
}

// rename(2) that refuses to replace what is at `to` (EEXIST), even an empty directory:
// renameat2's RENAME_NOREPLACE, called through syscall(2) since glibc declares renameat2 only
// under _GNU_SOURCE. -1 with ENOSYS or EINVAL where the kernel or the file system lacks it.
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int clientele_rename_noreplace(const char *from, const char *to) {
#if defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}
