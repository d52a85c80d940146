// A hint to fetch a cache line that will soon be written, which Swift has no spelling for.
// A loop that lands on memory at random (one customer's state per record) names the line it
// will need a few iterations ahead, so that several misses are in flight at once.
static inline void clientele_prefetch_for_write(const void *address) {
#if defined(__GNUC__)
    __builtin_prefetch(address, 1, 3);
#endif
}

// The same for a line that will soon be read.
static inline void clientele_prefetch(const void *address) {
#if defined(__GNUC__)
    __builtin_prefetch(address, 0, 3);
#endif
}
