"""Reference values for the discounted expected residual transactions (DERT), by mpmath at 30 digits.

Run from the repository root (any Python with mpmath; the shared venv has it):

    /tmp/clientele-bench-venv/bin/python Tests/LifetimeValueTests/Fixtures/make_dert_references.py

dert_references.csv: D = E[mu/(c + p mu)] for mu ~ Gamma(R, 1) and p ~ Beta(a, B), the discounted
purchases still to come of a live BG/NBD or MBG/NBD customer (DERT / P(alive), with c = delta (alpha+T)).
Computed as a different integral from the Swift code's Mellin-Barnes one: the beta expectation in
closed form, E_p[1/(1 + p y)] = 2F1(1, a; a+B; -y), then adaptive quadrature over the gamma density.

dert_cli_references.csv: the dert column `clientele predict` must write for a few customers, from the
model files in models/ (BG/NBD: P(alive) times D at c = ln(1.01)/4.345 (alpha+T), 1% a month in weeks;
BG/BB: Fader, Hardie & Shang 2010 eq. 14 at d = 0.1 per opportunity, from its beta functions and 2F1).
"""
import csv
import json
import os

import mpmath as mp

mp.mp.dps = 30
HERE = os.path.dirname(os.path.abspath(__file__))


def residual(R, c, a, B):
    R, c, a, B = (mp.mpf(v) for v in (R, c, a, B))
    f = lambda mu: (mu / c) * mp.hyp2f1(1, a, a + B, -mu / c) * mp.exp((R - 1) * mp.log(mu) - mu - mp.loggamma(R))
    return mp.quad(f, [0, R / 100, R / 10, R, 3 * R + 5, 10 * R + 30, 100 * R + 300, mp.inf])


cases = [(2.2426, 0.099, 0.7929, 4.4259), (0.2426, 0.4327, 0.7929, 2.4259), (14.2426, 2.17, 0.7929, 16.4259),
         (1.2426, 12.98, 0.7929, 3.4259), (100.24, 0.0217, 0.7929, 102.43), (0.01, 0.005, 0.002, 0.3),
         (50, 0.005, 20, 0.01), (0.3, 1e-4, 0.3, 1.2), (1000, 0.01, 0.5, 1000), (5, 300, 3, 2), (2, 0.01, 1.0, 2.0),
         (1e-3, 1e-3, 1e3, 1e3), (1e3, 1e3, 1e-3, 1e-3), (0.5249, 0.05, 0.8914, 2.614), (3, 1.0, 0.49, 5),
         (3, 1.0, 0.51, 5), (5000, 0.1, 0.8, 5002), (0.7, 0.02, 1.7, 0.4)]
with open(os.path.join(HERE, "dert_references.csv"), "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["R", "c", "a", "B", "value"])
    for R, c, a, B in cases:
        writer.writerow([R, c, a, B, mp.nstr(residual(R, c, a, B), 17)])

root = os.path.join(HERE, "..", "..", "..")
bgnbd = json.load(open(os.path.join(root, "models", "cdnow-sample-bgnbd.json")))["parameters"]
bgbb = json.load(open(os.path.join(root, "models", "donations-bgbb.json")))["parameters"]
rows = []
r, alpha, a, b = (mp.mpf(bgnbd[k]) for k in ("r", "alpha", "a", "b"))
delta = mp.log(mp.mpf("1.01")) / mp.mpf("4.345")
for customer, x, tx, T in [("1", 2, "30.43", "38.86"), ("3", 0, "0", "38.86"), ("157", 29, "37.71", "38.0")]:
    tx, T = mp.mpf(tx), mp.mpf(T)
    alive = 1 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    rows.append(["bgnbd", customer, x, tx, T, mp.nstr(alive * residual(r + x, delta * (alpha + T), a, b + x), 17)])
al, be, ga, de = (mp.mpf(bgbb[k]) for k in ("alpha", "beta", "gamma", "delta"))
d = mp.mpf("0.1")
for x, tx, n in [(0, 0, 6), (3, 5, 6), (6, 6, 6)]:
    B = mp.beta
    likelihood = B(al + x, be + n - x) / B(al, be) * B(ga, de + n) / B(ga, de) + sum(
        B(al + x, be + tx - x + i) / B(al, be) * B(ga + 1, de + tx + i) / B(ga, de) for i in range(n - tx))
    value = (B(al + x + 1, be + n - x) / B(al, be) * B(ga, de + n + 1) / ((1 + d) * B(ga, de))
             * mp.hyp2f1(1, de + n + 1, ga + de + n + 1, 1 / (1 + d)) / likelihood)
    rows.append(["bgbb", f"{x}/{tx}/{n}", x, tx, n, mp.nstr(value, 17)])
with open(os.path.join(HERE, "dert_cli_references.csv"), "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["model", "customer", "frequency", "recency", "T", "dert"])
    writer.writerows(rows)
