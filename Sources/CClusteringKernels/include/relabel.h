#ifndef CLIENTELE_CLUSTERING_KERNELS_RELABEL_H
#define CLIENTELE_CLUSTERING_KERNELS_RELABEL_H

#include <stdbool.h>
#include <stdint.h>

/// Lloyd's pass over `count` points, given `products`, the column-major count × k matrix of
/// −2x·c (leading dimension `ldp`), and the points themselves, a column-major count ×
/// dimension Float matrix (leading dimension `lda`); both readable up to `count` rounded up to
/// a multiple of 8 rows. For each point the nearest of `k` centers by ‖c‖² − 2x·c
/// (`center_norms` holds ‖c‖²), certified when the second nearest is farther by more than
/// margin_scale · (2‖x‖² + 2·largest_center_norm²) plus a denormal allowance. Writes only the
/// exceptions — points whose nearest center differs from `labels` or whose certificate fails —
/// as row, nearest center and certificate; returns how many. AVX2 when the processor has it,
/// the same arithmetic otherwise.
long clientele_kmeans_relabel(const float *products, long ldp, const float *points, long lda, long count,
                              long dimension, const float *center_norms, long k, float largest_center_norm,
                              float margin_scale, const int32_t *labels, int32_t *offsets, int32_t *nearest,
                              bool *certified);

/// For the same inputs as `clientele_kmeans_relabel`: each point's nearest center (the lowest
/// index among ties), the Float values of ‖c‖² − 2x·c for it and for the second nearest, and
/// the point's squared norm summed in double precision from its Floats. Writes `count` rounded
/// up to a multiple of 8 entries of each.
void clientele_kmeans_nearest_two(const float *products, long ldp, const float *points, long lda, long count,
                                  long dimension, const float *center_norms, long k, int32_t *nearest, float *best,
                                  float *second, double *norms);

#endif
