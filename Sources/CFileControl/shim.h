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
