#ifndef CLIENTELE_CLUSTERING_KERNELS_RELABEL_H
#define CLIENTELE_CLUSTERING_KERNELS_RELABEL_H

#include <stdbool.h>
#include <stdint.h>

/// Lloyd's pass over `count` points, given `products`, the column-major count × k matrix of
/// ‖c‖² − 2x·c (leading dimension `ldp`), and the points' squared norms ‖x‖² (rounded up),
/// both readable up to `count` rounded up to a multiple of 8 rows. For each point the nearest
/// of `k` centers by those values, certified when the second nearest
/// is farther by more than margin_scale · (2‖x‖² + 2·largest_center_norm²) plus a denormal
/// allowance for `dimension` features. Writes only the exceptions — points whose nearest center
/// differs from `labels` or whose certificate fails — as row, nearest center and certificate;
/// returns how many. AVX2 when the processor has it, the same arithmetic otherwise.
long clientele_kmeans_relabel(const float *products, long ldp, const float *point_norms, long count, long dimension,
                              long k, float largest_center_norm, float margin_scale,
                              const int32_t *labels, int32_t *offsets, int32_t *nearest, bool *certified);

/// For products as above: each point's nearest center (the lowest index among ties) and the
/// Float values of ‖c‖² − 2x·c for it and for the second nearest. Writes `count` rounded up to
/// a multiple of 8 entries of each.
void clientele_kmeans_nearest_two(const float *products, long ldp, long count, long k,
                                  int32_t *nearest, float *best, float *second);

#endif
