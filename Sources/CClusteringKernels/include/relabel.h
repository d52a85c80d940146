#ifndef CLIENTELE_CLUSTERING_KERNELS_RELABEL_H
#define CLIENTELE_CLUSTERING_KERNELS_RELABEL_H

#include <stdbool.h>
#include <stdint.h>

/// Lloyd's pass over `count` points stored in blocks of eight, feature by feature
/// (`[block][feature][lane]`, the layout of Clustering's SinglePrecisionPoints): for each point
/// the nearest of `k` Float centers, given as −2c (row-major k × dimension) and ‖c‖², certified when the second
/// nearest is farther by more than margin_scale · (2‖x‖² + 2·largest_center_norm²) plus a
/// denormal allowance. Writes only the exceptions — points whose nearest center differs from
/// `labels` or whose certificate fails — as offset, nearest center and certificate; returns
/// how many. Uses AVX2 and FMA when the processor has them, the same arithmetic otherwise.
long clientele_kmeans_relabel(const float *points, long count, long dimension, const float *scaled_centers,
                              const float *center_norms, long k,
                              float largest_center_norm, float margin_scale, const int32_t *labels,
                              int32_t *offsets, int32_t *nearest, bool *certified);

#endif
