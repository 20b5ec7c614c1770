"""The baseline for perennial's `lightgbm` trainer: one plain Python process reading the same
Parquet matrices and fitting LightGBM with the same params.

Usage: python lightgbm_plain.py TRAIN.parquet HOLDOUT.parquet PARAMS_JSON SEED REPEATS
Prints one JSON object: seconds to read, fit (median of repeats), predict the holdout, and the holdout AUC.
"""
import json
import statistics
import sys
import time

import lightgbm as lgb
import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score


def load(path):
    table = pq.read_table(path)
    names = [n for n in table.column_names if n != "label"]
    x = np.column_stack([table.column(n).to_numpy() for n in names]).astype(np.float64)
    return x, table.column("label").to_numpy().astype(np.float64), names


def main():
    train_path, holdout_path, params_json, seed, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    params = json.loads(params_json)
    rounds = params.pop("num_boost_round")
    started = time.perf_counter()
    x, y, names = load(train_path)
    xh, yh, _ = load(holdout_path)
    read = time.perf_counter() - started
    fits = []
    for _ in range(repeats):
        t = time.perf_counter()
        model = lgb.train({**params, "objective": "binary", "seed": seed, "deterministic": True, "verbose": -1},
                          lgb.Dataset(x, y, feature_name=names), num_boost_round=rounds)
        fits.append(time.perf_counter() - t)
    t = time.perf_counter()
    p = model.predict(xh)
    predict = time.perf_counter() - t
    print(json.dumps({"readSeconds": read, "fitSeconds": statistics.median(fits), "predictSeconds": predict,
                      "auc": roc_auc_score(yh, p), "rows": len(y), "version": lgb.__version__}))


if __name__ == "__main__":
    main()
