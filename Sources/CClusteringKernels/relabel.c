// Lloyd's relabelling pass for k-means in single precision, eight points per vector.
//
// Swift builds for the baseline x86-64 (SSE2) unless given target flags, which a package that
// others depend on cannot set; this file compiles the same kernel twice, once for AVX2 with
// FMA and once for the baseline, and picks one at run time. Clang's vector extensions keep
// the arithmetic one expression for both: a vector of eight Floats is one register with AVX2
// and two without.
//
// The arithmetic: ‖c‖² − 2x·c, which orders the centers as ‖x − c‖² does (‖x‖² is the same
// for all), in one multiply-add per feature: `scaled_centers` holds −2c and `center_norms`
// ‖c‖². Its error is within the bound the certificate assumes for differences, (d + 5)·u·r²
// with r = ‖x‖ + ‖c‖ (see SinglePrecisionPoints.swift for the bound and the margin).
#include "relabel.h"

#include <math.h>

typedef float lanes_f __attribute__((vector_size(32)));
typedef int32_t lanes_i __attribute__((vector_size(32)));

// mask ? a : b lane by lane (the vector ternary operator is C++ only; a macro rather than a
// function, whose vector arguments would have no one calling convention for both targets).
#define SELECT(mask, a, b) ((lanes_f)(((mask) & (lanes_i)(a)) | (~(mask) & (lanes_i)(b))))

// The nearest and second nearest of k centers for `blocks` (1 or 2, a constant where it is
// called) consecutive blocks of eight points, the blocks' centers scanned side by side so that
// their compare-and-select chains, which wait on each other from one center to the next,
// overlap. Results in closest, runner_up and index, one vector per block.
static inline __attribute__((always_inline)) void nearest_two(const float *block, const int blocks, long dimension,
                                                              const float *scaled_centers, const float *center_norms,
                                                              long k, lanes_f *closest, lanes_f *runner_up,
                                                              lanes_i *index) {
    const long lanes = 8;
    for (int h = 0; h < blocks; h++) {
        closest[h] = (lanes_f){0} + INFINITY;
        runner_up[h] = closest[h];
        index[h] = (lanes_i){0};
    }
    for (long c = 0; c < k; c++) {
        const float *center = scaled_centers + c * dimension;
        for (int h = 0; h < blocks; h++) {
            lanes_f distance = (lanes_f){0} + center_norms[c];
            for (long j = 0; j < dimension; j++) {
                lanes_f x;
                __builtin_memcpy(&x, block + (h * dimension + j) * lanes, sizeof x);
                distance += x * center[j];
            }
            lanes_i closer = distance < closest[h];
            lanes_i below_runner_up = distance < runner_up[h];
            runner_up[h] = SELECT(below_runner_up, distance, runner_up[h]);
            runner_up[h] = SELECT(closer, closest[h], runner_up[h]);
            closest[h] = SELECT(closer, distance, closest[h]);
            index[h] = (closer & ((lanes_i){0} + (int32_t)c)) | (~closer & index[h]);
        }
    }
}

// Certifies one block's nearest centers (vectors passed by address: a vector argument would
// have no one calling convention for both targets), compares them with the labels and lists the
// exceptions from `exceptions` on; returns the new count.
static inline __attribute__((always_inline)) long list_exceptions(const float *block, long start, long count,
                                                                  long dimension, const lanes_f *closest,
                                                                  const lanes_f *runner_up, const lanes_i *index,
                                                                  float center_part, float margin_scale,
                                                                  const int32_t *labels, int32_t *offsets,
                                                                  int32_t *nearest, bool *certified, long exceptions) {
    const long lanes = 8;
    lanes_f norm = (lanes_f){0};
    for (long j = 0; j < dimension; j++) {
        lanes_f x;
        __builtin_memcpy(&x, block + j * lanes, sizeof x);
        norm += x * x;
    }
    lanes_f margin = margin_scale * (2 * (1 + 0x1p-20f) * norm + center_part) + (float)dimension * 0x1p-119f;
    lanes_i sure = (*runner_up - *closest) > margin;
    long in_block = count - start < lanes ? count - start : lanes;
    lanes_i old = *index;
    if (in_block == lanes) {
        __builtin_memcpy(&old, labels + start, sizeof old);
    } else {
        for (long lane = 0; lane < in_block; lane++) old[lane] = labels[start + lane];
    }
    lanes_i unusual = (*index != old) | ~sure;
    int any = 0;
    for (long lane = 0; lane < lanes; lane++) any |= unusual[lane];
    if (!any) return exceptions;
    for (long lane = 0; lane < in_block; lane++) {
        if (!unusual[lane]) continue;
        offsets[exceptions] = (int32_t)(start + lane);
        nearest[exceptions] = (*index)[lane];
        certified[exceptions] = sure[lane] != 0;
        exceptions++;
    }
    return exceptions;
}

static inline __attribute__((always_inline)) long relabel_with(const float *points, long count, long dimension,
                                                              const float *scaled_centers, const float *center_norms,
                                                              long k, float largest_center_norm, float margin_scale,
                                                              const int32_t *labels, int32_t *offsets,
                                                              int32_t *nearest, bool *certified) {
    const long lanes = 8;
    const float center_part = 2 * largest_center_norm * largest_center_norm;
    long exceptions = 0;
    long start = 0;
    lanes_f closest[2], runner_up[2];
    lanes_i index[2];
    for (; start + 2 * lanes <= count; start += 2 * lanes) {
        const float *block = points + start * dimension;
        nearest_two(block, 2, dimension, scaled_centers, center_norms, k, closest, runner_up, index);
        for (int h = 0; h < 2; h++) {
            exceptions = list_exceptions(block + h * dimension * lanes, start + h * lanes, count, dimension, &closest[h],
                                         &runner_up[h], &index[h], center_part, margin_scale, labels, offsets, nearest,
                                         certified, exceptions);
        }
    }
    for (; start < count; start += lanes) {
        const float *block = points + start * dimension;
        nearest_two(block, 1, dimension, scaled_centers, center_norms, k, closest, runner_up, index);
        exceptions = list_exceptions(block, start, count, dimension, &closest[0], &runner_up[0], &index[0], center_part,
                                     margin_scale, labels, offsets, nearest, certified, exceptions);
    }
    return exceptions;
}

// The pass with the dimension a constant up to 8, so that the loops over features unroll and a
// block's features stay in registers across the k centers.
static inline __attribute__((always_inline)) long relabel(const float *points, long count, long dimension,
                                                         const float *scaled_centers, const float *center_norms, long k,
                                                         float largest_center_norm, float margin_scale,
                                                         const int32_t *labels, int32_t *offsets, int32_t *nearest,
                                                         bool *certified) {
#define RELABEL_WITH(D)                                                                                               \
    relabel_with(points, count, D, scaled_centers, center_norms, k, largest_center_norm, margin_scale, labels,       \
                 offsets, nearest, certified)
    switch (dimension) {
    case 1: return RELABEL_WITH(1);
    case 2: return RELABEL_WITH(2);
    case 3: return RELABEL_WITH(3);
    case 4: return RELABEL_WITH(4);
    case 5: return RELABEL_WITH(5);
    case 6: return RELABEL_WITH(6);
    case 7: return RELABEL_WITH(7);
    case 8: return RELABEL_WITH(8);
    default: return RELABEL_WITH(dimension);
    }
#undef RELABEL_WITH
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx2,fma"))) static long relabel_avx2(const float *points, long count, long dimension,
                                                             const float *scaled_centers, const float *center_norms, long k, float largest_center_norm,
                                                             float margin_scale, const int32_t *labels, int32_t *offsets,
                                                             int32_t *nearest, bool *certified) {
    return relabel(points, count, dimension, scaled_centers, center_norms, k, largest_center_norm, margin_scale, labels, offsets, nearest,
                   certified);
}
#endif

long clientele_kmeans_relabel(const float *points, long count, long dimension, const float *scaled_centers, const float *center_norms, long k,
                              float largest_center_norm, float margin_scale, const int32_t *labels,
                              int32_t *offsets, int32_t *nearest, bool *certified) {
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return relabel_avx2(points, count, dimension, scaled_centers, center_norms, k, largest_center_norm, margin_scale, labels, offsets,
                            nearest, certified);
    }
#endif
    return relabel(points, count, dimension, scaled_centers, center_norms, k, largest_center_norm, margin_scale, labels, offsets, nearest,
                   certified);
}
