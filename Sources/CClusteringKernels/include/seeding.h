#ifndef CLIENTELE_CLUSTERING_KERNELS_SEEDING_H
#define CLIENTELE_CLUSTERING_KERNELS_SEEDING_H

/// One pass of greedy k-means++ seeding over `count` points, a column-major count × dimension
/// Float matrix with leading dimension `lda` (one chunk of Clustering's SinglePrecisionPoints),
/// readable up to `count` rounded up to a multiple of 8 rows, whose padding lanes get weight 0
/// (`weights` NULL means 1 for real points):
/// D² ← min(D², ‖x − row 0‖²) in `closest` (padded to whole blocks), then potentials[0] =
/// Σ w·D² and, for each of the `trials` candidates in rows 1…trials, potentials[t + 1] =
/// Σ w·min(D², ‖x − row t+1‖²). Distances by differences in Float with no fused multiply-add,
/// so that every processor gets the same values; sums in double, lane by lane, then the
/// lanes in order. `lane_sums` is scratch for 8 × (1 + trials) doubles, aligned to 64 bytes.
void clientele_kmeans_seeding_pass(const float *points, long lda, long count, long dimension, const float *rows, long trials,
                                   float *closest, const double *weights, double *lane_sums, double *potentials);

#endif
