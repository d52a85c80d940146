// The nearest and second nearest centers of each point, read from the products a gemm gave:
// Lloyd's relabelling pass and the nearest two of Hamerly's points whose bounds failed.
//
// Clustering multiplies a block of points (a column-major rows × d Float matrix) by the
// centers scaled by −2 with one sgemm that adds them to ‖c‖² (β = 1, the block filled with
// the norms first), so the products are ‖c‖² − 2x·c, which orders the centers as ‖x − c‖²
// does (‖x‖² is the same for all). What is left per point and center is a compare-and-select.
// This file does that, eight points per vector, reading the products
// column by column (one center's products of eight consecutive points are one vector).
//
// Swift builds for the baseline x86-64 (SSE2) unless given target flags, which a package that
// others depend on cannot set; so the loops are compiled twice, once for AVX2 and once for
// the baseline, and one is picked at run time. Clang's vector extensions keep the arithmetic
// one expression for both: a vector of eight Floats is one register with AVX2 and two
// without. The error bound the certificate rests on is derived in SinglePrecisionPoints.swift.
#include "relabel.h"

#include <math.h>

typedef float lanes_f __attribute__((vector_size(32)));
typedef int32_t lanes_i __attribute__((vector_size(32)));

// mask ? a : b lane by lane (the vector ternary operator is C++ only; a macro rather than a
// function, whose vector arguments would have no one calling convention for both targets).
#define SELECT(mask, a, b) ((lanes_f)(((mask) & (lanes_i)(a)) | (~(mask) & (lanes_i)(b))))

// Eight Floats from `from`, at any alignment (a macro for the same reason).
#define LOAD(from)                                                                                                     \
    ({                                                                                                                 \
        lanes_f loaded;                                                                                                \
        __builtin_memcpy(&loaded, (from), sizeof loaded);                                                              \
        loaded;                                                                                                        \
    })

// The nearest and second nearest of k centers for `blocks` (1 or 4, a constant where it is
// called) consecutive groups of eight points from row `row` on, scanned side by side so that
// their compare-and-select chains, which wait on each other from one center to the next,
// overlap. Results in closest, runner_up and index, one vector per group.
static inline __attribute__((always_inline)) void nearest_two(const float *products, long ldp, long row,
                                                              const int blocks, long k,
                                                              lanes_f *closest, lanes_f *runner_up, lanes_i *index) {
    for (int h = 0; h < blocks; h++) {
        closest[h] = (lanes_f){0} + INFINITY;
        runner_up[h] = closest[h];
        index[h] = (lanes_i){0};
    }
    for (long c = 0; c < k; c++) {
        const float *column = products + c * ldp + row;
        for (int h = 0; h < blocks; h++) {
            lanes_f distance = LOAD(column + 8 * h);
            lanes_i closer = distance < closest[h];
            lanes_i below_runner_up = distance < runner_up[h];
            runner_up[h] = SELECT(below_runner_up, distance, runner_up[h]);
            runner_up[h] = SELECT(closer, closest[h], runner_up[h]);
            closest[h] = SELECT(closer, distance, closest[h]);
            index[h] = (closer & ((lanes_i){0} + (int32_t)c)) | (~closer & index[h]);
        }
    }
}

// Certifies the nearest centers of the eight points from row `row` on (vectors passed by
// address: a vector argument would have no one calling convention for both targets), compares
// them with the labels and lists the exceptions from `exceptions` on; returns the new count.
static inline __attribute__((always_inline)) long list_exceptions(const float *point_norms, long row, long count,
                                                                  float denormal_part, const lanes_f *closest,
                                                                  const lanes_f *runner_up, const lanes_i *index,
                                                                  float center_part, float margin_scale,
                                                                  const int32_t *labels, int32_t *offsets,
                                                                  int32_t *nearest, bool *certified, long exceptions) {
    const long lanes = 8;
    lanes_f margin = margin_scale * (2 * (1 + 0x1p-20f) * LOAD(point_norms + row) + center_part) + denormal_part;
    lanes_i sure = (*runner_up - *closest) > margin;
    long in_block = count - row < lanes ? count - row : lanes;
    lanes_i old = *index;
    if (in_block == lanes) {
        __builtin_memcpy(&old, labels + row, sizeof old);
    } else {
        for (long lane = 0; lane < in_block; lane++) old[lane] = labels[row + lane];
    }
    lanes_i unusual = (*index != old) | ~sure;
    int any = 0;
    for (long lane = 0; lane < lanes; lane++) any |= unusual[lane];
    if (!any) return exceptions;
    for (long lane = 0; lane < in_block; lane++) {
        if (!unusual[lane]) continue;
        offsets[exceptions] = (int32_t)(row + lane);
        nearest[exceptions] = (*index)[lane];
        certified[exceptions] = sure[lane] != 0;
        exceptions++;
    }
    return exceptions;
}

static inline __attribute__((always_inline)) long relabel(const float *products, long ldp, const float *point_norms,
                                                         long count, long dimension, long k,
                                                         float largest_center_norm, float margin_scale,
                                                         const int32_t *labels, int32_t *offsets, int32_t *nearest,
                                                         bool *certified) {
    const long lanes = 8, together = 4;
    const float center_part = 2 * largest_center_norm * largest_center_norm;
    const float denormal_part = (float)dimension * 0x1p-119f;
    long exceptions = 0;
    long row = 0;
    lanes_f closest[together], runner_up[together];
    lanes_i index[together];
    for (; row + together * lanes <= count; row += together * lanes) {
        nearest_two(products, ldp, row, together, k, closest, runner_up, index);
        for (int h = 0; h < together; h++) {
            exceptions = list_exceptions(point_norms, row + h * lanes, count, denormal_part, &closest[h],
                                         &runner_up[h], &index[h], center_part, margin_scale, labels, offsets,
                                         nearest, certified, exceptions);
        }
    }
    for (; row < count; row += lanes) {
        nearest_two(products, ldp, row, 1, k, closest, runner_up, index);
        exceptions = list_exceptions(point_norms, row, count, denormal_part, &closest[0], &runner_up[0], &index[0],
                                     center_part, margin_scale, labels, offsets, nearest, certified, exceptions);
    }
    return exceptions;
}

static inline __attribute__((always_inline)) void nearest_two_of_each(const float *products, long ldp, long count,
                                                                      long k,
                                                                      int32_t *nearest, float *best, float *second) {
    for (long row = 0; row < count; row += 8) {
        lanes_f closest, runner_up;
        lanes_i index;
        nearest_two(products, ldp, row, 1, k, &closest, &runner_up, &index);
        __builtin_memcpy(nearest + row, &index, sizeof index);
        __builtin_memcpy(best + row, &closest, sizeof closest);
        __builtin_memcpy(second + row, &runner_up, sizeof runner_up);
    }
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx2"))) static long relabel_avx2(const float *products, long ldp, const float *point_norms,
                                                         long count, long dimension, long k,
                                                         float largest_center_norm, float margin_scale,
                                                         const int32_t *labels, int32_t *offsets, int32_t *nearest,
                                                         bool *certified) {
    return relabel(products, ldp, point_norms, count, dimension, k, largest_center_norm, margin_scale,
                   labels, offsets, nearest, certified);
}

__attribute__((target("avx2"))) static void nearest_two_of_each_avx2(const float *products, long ldp, long count,
                                                                     long k,
                                                                     int32_t *nearest, float *best, float *second) {
    nearest_two_of_each(products, ldp, count, k, nearest, best, second);
}
#endif

long clientele_kmeans_relabel(const float *products, long ldp, const float *point_norms, long count, long dimension,
                              long k, float largest_center_norm, float margin_scale,
                              const int32_t *labels, int32_t *offsets, int32_t *nearest, bool *certified) {
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx2")) {
        return relabel_avx2(products, ldp, point_norms, count, dimension, k, largest_center_norm,
                            margin_scale, labels, offsets, nearest, certified);
    }
#endif
    return relabel(products, ldp, point_norms, count, dimension, k, largest_center_norm, margin_scale,
                   labels, offsets, nearest, certified);
}

void clientele_kmeans_nearest_two(const float *products, long ldp, long count, long k,
                                  int32_t *nearest, float *best, float *second) {
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx2")) {
        nearest_two_of_each_avx2(products, ldp, count, k, nearest, best, second);
        return;
    }
#endif
    nearest_two_of_each(products, ldp, count, k, nearest, best, second);
}
