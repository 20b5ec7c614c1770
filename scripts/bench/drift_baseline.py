"""scipy/numpy on exactly the inputs of perennial's drift benchmark: the baseline.

Usage: python drift_baseline.py MANIFEST.json REPEATS
The manifest (written by driftBench.ts) names raw little-endian float64 files: per numeric
feature the profile's sorted reference sample and the current column (NaN = missing), with the
profile's PSI edges and bin counts; per categorical feature the reference frequencies and the
current codes. Per feature, as perennial's drift report computes it:
  numeric:     ks_2samp (method auto), PSI over np.histogram with the same edges,
               jensenshannon(base=2)**2 over the same bins, wasserstein_distance
  categorical: chi2_contingency(correction=False) over the union of categories, PSI and JS over it
Prints one JSON object: seconds per full report (median of repeats, data loading excluded) and
the values of the last run, for comparison.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPSILON = 1e-4


def psi_from_counts(ref_counts, cur_counts):
    r = np.maximum(np.asarray(ref_counts, dtype=float) / np.sum(ref_counts), EPSILON)
    c = np.maximum(np.asarray(cur_counts, dtype=float) / np.sum(cur_counts), EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric(f):
    column = f["current"]
    current = column[~np.isnan(column)]
    ks = stats.ks_2samp(f["reference"], current)
    bins = np.concatenate(([-np.inf], f["edges"], [np.inf]))
    current_counts, _ = np.histogram(current, bins=bins)
    return {
        "ks": [float(ks.statistic), float(ks.pvalue)],
        "psi": psi_from_counts(f["binCounts"], current_counts),
        "js": float(jensenshannon(f["binCounts"], current_counts, base=2) ** 2),
        "wasserstein": float(stats.wasserstein_distance(f["reference"], current)),
    }


def key(v):
    # JavaScript's String(v) for the integer codes the benchmark uses
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def categorical(f):
    column = f["current"]
    values, counts = np.unique(column[~np.isnan(column)], return_counts=True)
    current = {key(v): int(c) for v, c in zip(values, counts)}
    reference = f["frequencies"]
    categories = list(reference) + [k for k in current if k not in reference]
    ref = np.array([reference.get(k, 0) for k in categories], dtype=float)
    cur = np.array([current.get(k, 0) for k in categories], dtype=float)
    keep = (ref + cur) > 0
    chi2, p, dof, _ = stats.chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False)
    return {
        "chi2": [float(chi2), float(p), int(dof)],
        "psi": psi_from_counts(ref, cur),
        "js": float(jensenshannon(ref, cur, base=2) ** 2),
    }


def load(manifest_path):
    base = os.path.dirname(manifest_path)
    with open(manifest_path) as fh:
        manifest = json.load(fh)
    for f in manifest["features"]:
        f["current"] = np.fromfile(os.path.join(base, f["currentFile"]), dtype="<f8")
        if f["kind"] == "numeric":
            f["reference"] = np.fromfile(os.path.join(base, f["referenceFile"]), dtype="<f8")
            f["edges"] = np.asarray(f["edges"], dtype=float)
    return manifest["features"]


def main():
    features = load(sys.argv[1])
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times = []
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        values = [numeric(f) if f["kind"] == "numeric" else categorical(f) for f in features]
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "runs": times, "scipy": scipy.__version__, "numpy": np.__version__, "features": values}))


if __name__ == "__main__":
    main()
