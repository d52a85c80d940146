// One pass of greedy k-means++ seeding in single precision, eight points per vector, compiled
// for AVX2 and for the baseline x86-64 and picked at run time (see relabel.c for why). The
// arithmetic is the same on both: sub, mul and add, never contracted into a fused
// multiply-add, so a seed draws the same centers on every processor. (Not a gemm: how a BLAS
// orders and fuses its sums is its own choice, and these distances feed random draws.)
#include "seeding.h"

#include <math.h>
#include <stdint.h>

#pragma clang fp contract(off)

typedef float lanes_f __attribute__((vector_size(32)));
typedef int32_t lanes_i __attribute__((vector_size(32)));
typedef double lanes_d __attribute__((vector_size(64)));

#define SELECT(mask, a, b) ((lanes_f)(((mask) & (lanes_i)(a)) | (~(mask) & (lanes_i)(b))))

// Σⱼ (xⱼ − rowⱼ)² for the eight points from `first` on of a column-major matrix.
static inline __attribute__((always_inline)) void squared_distances_to(const float *first, long lda, long dimension,
                                                                       const float *row, lanes_f *out) {
    lanes_f sum = (lanes_f){0};
    for (long j = 0; j < dimension; j++) {
        lanes_f x;
        __builtin_memcpy(&x, first + j * lda, sizeof x);
        lanes_f difference = x - row[j];
        sum = sum + difference * difference;
    }
    *out = sum;
}

static inline __attribute__((always_inline)) void seeding_pass(const float *points, long lda, long count, long dimension,
                                                               const float *rows, long trials, float *closest,
                                                               const double *weights, double *lane_sums,
                                                               double *potentials) {
    lanes_d *sums = (lanes_d *)lane_sums;
    for (long t = 0; t <= trials; t++) sums[t] = (lanes_d){0};
    for (long start = 0; start < count; start += 8) {
        const float *first = points + start;
        lanes_d w = (lanes_d){0} + 1.0;
        if (weights) {
            for (long lane = 0; lane < 8; lane++) w[lane] = start + lane < count ? weights[start + lane] : 0;
        } else if (start + 8 > count) {
            for (long lane = count - start; lane < 8; lane++) w[lane] = 0;
        }
        lanes_f nearest, distance;
        __builtin_memcpy(&nearest, closest + start, sizeof nearest);
        squared_distances_to(first, lda, dimension, rows, &distance);
        nearest = SELECT(distance < nearest, distance, nearest);
        __builtin_memcpy(closest + start, &nearest, sizeof nearest);
        sums[0] += w * __builtin_convertvector(nearest, lanes_d);
        for (long t = 0; t < trials; t++) {
            lanes_f leaves;
            squared_distances_to(first, lda, dimension, rows + (t + 1) * dimension, &leaves);
            leaves = SELECT(nearest < leaves, nearest, leaves);
            sums[t + 1] += w * __builtin_convertvector(leaves, lanes_d);
        }
    }
    for (long t = 0; t <= trials; t++) {
        double total = 0;
        for (int lane = 0; lane < 8; lane++) total += sums[t][lane];
        potentials[t] = total;
    }
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx2"))) static void seeding_pass_avx2(const float *points, long lda, long count, long dimension,
                                                              const float *rows, long trials, float *closest,
                                                              const double *weights, double *lane_sums,
                                                              double *potentials) {
    seeding_pass(points, lda, count, dimension, rows, trials, closest, weights, lane_sums, potentials);
}
#endif

void clientele_kmeans_seeding_pass(const float *points, long lda, long count, long dimension, const float *rows, long trials,
                                   float *closest, const double *weights, double *lane_sums, double *potentials) {
#if defined(__x86_64__) && defined(__clang__)
    if (__builtin_cpu_supports("avx2")) {
        seeding_pass_avx2(points, lda, count, dimension, rows, trials, closest, weights, lane_sums, potentials);
        return;
    }
#endif
    seeding_pass(points, lda, count, dimension, rows, trials, closest, weights, lane_sums, potentials);
}
