"""What a trainer function receives: the matrices, its params and seed, and a way to say how it is doing."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np


MAX_PROGRESS = 2000
#: The trainer's progress goes to the activity's process at most this often.
REPORT_EVERY_SECONDS = 1.0


class TrainingContext:
    """`train(ctx)` reads `ctx.X_train`, `ctx.y_train`, `ctx.X_holdout`, `ctx.y_holdout` (numpy),
    `ctx.feature_names`, `ctx.params` and `ctx.seed`, and may call `ctx.heartbeat(...)`.

    perennial heartbeats for the trainer on its own while `fit` runs; `heartbeat(...)` only
    adds progress to what the Web UI shows of the attempt.
    """

    def __init__(self, X_train: np.ndarray, y_train: np.ndarray, X_holdout: np.ndarray, y_holdout: np.ndarray,
                 feature_names: list[str], params: dict[str, Any], seed: int, report=None):
        self.X_train = X_train
        self.y_train = y_train
        self.X_holdout = X_holdout
        self.y_holdout = y_holdout
        self.feature_names = list(feature_names)
        self.params = dict(params)
        self.seed = seed
        self._lock = threading.Lock()
        self._progress: Any = None
        self._started = time.monotonic()
        self._report = report
        self._reported = 0.0

    def heartbeat(self, *details: Any) -> None:
        with self._lock:
            self._progress = details[0] if len(details) == 1 else list(details)
            due = self._report is not None and time.monotonic() - self._reported >= REPORT_EVERY_SECONDS
            if due:
                self._reported = time.monotonic()
        if due:
            self._report(self.progress())

    def progress(self) -> dict:
        """What the worker's own heartbeat reports: time spent fitting and the trainer's latest progress."""
        with self._lock:
            progress = self._progress
        report = {"phase": "fit", "elapsedSeconds": round(time.monotonic() - self._started, 1)}
        if progress is not None:
            # Whatever the trainer passed (numpy numbers, objects) as JSON, bounded: it goes to Temporal.
            text = json.dumps(progress, default=str)
            report["progress"] = json.loads(text) if len(text) <= MAX_PROGRESS else text[:MAX_PROGRESS]
        return report
