"""LightGBM on exactly the matrices perennial's benchmark trained on: the baseline.

Usage: python lightgbm_baseline.py TRAIN.parquet HOLDOUT.parquet ROUNDS LEARNING_RATE MAX_DEPTH L2 MIN_CHILD_WEIGHT MAX_BIN
Prints one JSON object: fit seconds (median of repeats) and holdout AUC.
"""
import json
import statistics
import sys
import time

import lightgbm as lgb
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score


def load(path):
    table = pq.read_table(path).to_pandas()
    y = table.pop("label").to_numpy()
    return table, y


def main():
    train_path, holdout_path = sys.argv[1], sys.argv[2]
    rounds, lr, depth, l2, min_child, max_bin = (int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8]))
    repeats = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    x, y = load(train_path)
    xh, yh = load(holdout_path)
    params = {
        "objective": "binary",
        "learning_rate": lr,
        "max_depth": depth,
        "num_leaves": 2 ** depth,
        "lambda_l2": l2,
        "min_sum_hessian_in_leaf": min_child,
        "min_data_in_leaf": 1,
        "max_bin": max_bin,
        "num_threads": 1,
        "deterministic": True,
        "verbose": -1,
        "seed": 42,
    }
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = lgb.train(params, lgb.Dataset(x, y), num_boost_round=rounds)
        times.append(time.perf_counter() - start)
    auc = roc_auc_score(yh, model.predict(xh))
    print(json.dumps({"fitSeconds": statistics.median(times), "auc": auc, "rows": len(y), "version": lgb.__version__}))


if __name__ == "__main__":
    main()
