"""scikit-learn's KMeans on the data of the Clustering benchmark, for the side-by-side numbers.

The Swift suite (`make benchmark`, target KMeansBenchmarks) writes the 1M × 6 Gaussian mixture
as raw little-endian doubles to $TMPDIR/clientele-bench-kmeans-1000000x6-seed42.f64; this
script reads that file, so both tools cluster the same points:

    /tmp/clientele-bench-venv/bin/python Benchmarks/python/kmeans.py [PATH]

It prints wall and CPU time of KMeans(n_clusters=8, n_init=10) (scikit-learn's greedy
k-means++ and Lloyd, all cores), the inertia, the iterations of each of its ten
initializations (from a second, untimed run with verbose output, which is the only place
scikit-learn reports them), and the iterations of ten single runs.
"""
import contextlib
import io
import os
import re
import sys
import tempfile
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                          "clientele-bench-kmeans-1000000x6-seed42.f64")
X = np.fromfile(path, dtype=np.float64).reshape(-1, 6)
wall, cpu = time.perf_counter(), time.process_time()
model = KMeans(n_clusters=8, n_init=10, random_state=42).fit(X)
print(f"scikit-learn {sklearn.__version__}: {len(X)}×6, k=8, n_init=10: wall {time.perf_counter() - wall:.2f} s, "
      f"cpu {time.process_time() - cpu:.2f} s, inertia {model.inertia_:.6f}")
log = io.StringIO()
with contextlib.redirect_stdout(log):
    KMeans(n_clusters=8, n_init=10, random_state=42, verbose=1).fit(X)
per_initialization = [int(n) + 1 for n in re.findall(r"Converged at iteration (\d+)", log.getvalue())]
print(f"iterations of its ten initializations: {per_initialization} (total {sum(per_initialization)}; "
      f"an initialization that stops at max_iter prints nothing)")
iterations = [KMeans(n_clusters=8, n_init=1, random_state=seed).fit(X).n_iter_ for seed in range(10)]
print(f"iterations of ten single initializations: {iterations} (total {sum(iterations)})")
