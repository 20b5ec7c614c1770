"""The feature matrices perennial's feature pipeline writes: Parquet, one float64 column per
feature in the model's order, NaN for missing, and the 0/1 `label` last."""
from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq

from . import store
from .errors import bad_request

LABEL = "label"


class Matrix:
    def __init__(self, x: np.ndarray, y: np.ndarray, names: list[str]):
        self.x, self.y, self.names = x, y, names


def read_matrix(ref: dict) -> Matrix:
    data = store.read_bytes(ref["uri"], ref["sha256"])
    table = pq.read_table(io.BytesIO(data))
    names = [n for n in table.column_names if n != LABEL]
    if LABEL not in table.column_names or not names:
        raise bad_request(f"{ref['uri']} is not a feature matrix (expected feature columns and a {LABEL!r} column)")
    x = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        x[:, j] = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    y = table.column(LABEL).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return Matrix(x, y, names)
