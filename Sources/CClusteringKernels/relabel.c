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

static inline __attribute__((always_inline)) long relabel(const float *points, long count, long dimension,
                                                         const float *scaled_centers, const float *center_norms, long k, float largest_center_norm,
                                                         float margin_scale, const int32_t *labels, int32_t *offsets,
                                                         int32_t *nearest, bool *certified) {
    const long lanes = 8;
    const float center_part = 2 * largest_center_norm * largest_center_norm;
    const float denormal = (float)dimension * 0x1p-119f;
    long exceptions = 0;
    for (long start = 0; start < count; start += lanes) {
        const float *block = points + start * dimension;
        lanes_f closest = (lanes_f){0} + INFINITY;
        lanes_f runner_up = closest;
        lanes_i index = (lanes_i){0};
        for (long c = 0; c < k; c++) {
            const float *center = scaled_centers + c * dimension;
            lanes_f distance = (lanes_f){0} + center_norms[c];
            for (long j = 0; j < dimension; j++) {
                lanes_f x;
                __builtin_memcpy(&x, block + j * lanes, sizeof x);
                distance += x * center[j];
            }
            lanes_i closer = distance < closest;
            lanes_i below_runner_up = distance < runner_up;
            runner_up = SELECT(below_runner_up, distance, runner_up);
            runner_up = SELECT(closer, closest, runner_up);
            closest = SELECT(closer, distance, closest);
            index = (closer & ((lanes_i){0} + (int32_t)c)) | (~closer & index);
        }
        lanes_f norm = (lanes_f){0};
        for (long j = 0; j < dimension; j++) {
            lanes_f x;
            __builtin_memcpy(&x, block + j * lanes, sizeof x);
            norm += x * x;
        }
        lanes_f margin = margin_scale * (2 * (1 + 0x1p-20f) * norm + center_part) + denormal;
        lanes_i sure = (runner_up - closest) > margin;
        long in_block = count - start < lanes ? count - start : lanes;
        lanes_i old = index;
        if (in_block == lanes) {
            __builtin_memcpy(&old, labels + start, sizeof old);
        } else {
            for (long lane = 0; lane < in_block; lane++) old[lane] = labels[start + lane];
        }
        lanes_i unusual = (index != old) | ~sure;
        int any = 0;
        for (long lane = 0; lane < lanes; lane++) any |= unusual[lane];
        if (!any) continue;
        for (long lane = 0; lane < in_block; lane++) {
            if (!unusual[lane]) continue;
            offsets[exceptions] = (int32_t)(start + lane);
            nearest[exceptions] = index[lane];
            certified[exceptions] = sure[lane] != 0;
            exceptions++;
        }
    }
    return exceptions;
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
