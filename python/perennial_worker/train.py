"""The `train` activity on the `perennial-python` task queue.

Input and output are perennial's training contract (src/training/pythonContract.ts): the
feature matrices and a checkpoint location by URI in; the model as ONNX, the framework's
own file and its holdout probabilities (float64) out, all content-addressed.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import fit
from .errors import bad_request

#: How often the worker heartbeats while a trainer runs (the workflow's heartbeat timeout is longer).
HEARTBEAT_SECONDS = 2.0
REQUEST_KEYS = {"model", "trainer", "matrices", "artifactsUri", "checkpointUri"}
TRAINER_KEYS = {"type", "params", "seed", "entrypoint"}
#: A message from the fit process larger than this is refused (a result is a few hundred bytes).
MAX_MESSAGE_BYTES = 1024 * 1024

# Each training runs in a process forked from a server that has the trainers' modules
# imported already: fast to start, and none of this process's state (its Temporal runtime's
# threads) carried into it.
_processes = multiprocessing.get_context("forkserver")
_processes.set_forkserver_preload(["perennial_worker.fit"])


def start_fork_server() -> None:
    """Starts the fork server (importing the trainers' modules, a second or two) before the
    first training asks for it, so no training's time includes it."""
    import multiprocessing.forkserver

    multiprocessing.forkserver.ensure_running()


@activity.defn(name="train")
async def train(request: dict) -> dict:
    checked = check_request(request)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    receiving, sending = _processes.Pipe(duplex=False)
    # Held open here for as long as this attempt lives: the fit process ends when it closes.
    alive_r, alive_w = _processes.Pipe(duplex=False)
    process = _processes.Process(target=fit.run, args=(checked, sending, alive_r), name="perennial-fit", daemon=True)
    progress: dict = {"phase": "read matrices"}
    try:
        # Off the event loop: the first start waits for the fork server to load its modules.
        await loop.run_in_executor(None, process.start)
        sending.close()
        alive_r.close()
        # A user's fit has no callback: the worker says it is alive from here while that process works.
        while True:
            activity.heartbeat({**progress, "elapsedSeconds": round(time.monotonic() - started, 1)})
            message = await loop.run_in_executor(None, next_message, receiving, process)
            if message is None:
                continue
            kind, payload = message
            if kind == "progress":
                progress = payload
            elif kind == "error":
                raise ApplicationError(payload["message"], *payload["details"], type=payload["type"], non_retryable=payload["nonRetryable"])
            else:
                result = payload
                break
    finally:
        # Cancelled, timed out or failed: the fit, and whatever processes it started, stop here,
        # not later beside a retry.
        fit.kill_group(process)
        for end in (receiving, sending, alive_r, alive_w):
            end.close()
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def next_message(receiving, process):
    """The fit process's next message, None if there is none within a heartbeat's time.
    Messages are bounded JSON, never pickles: nothing of the trainer's is unpickled here."""
    if not receiving.poll(HEARTBEAT_SECONDS):
        if process.is_alive():
            return None
        # Its answer may have arrived between the wait and the check: read what is there first.
        if not receiving.poll(0):
            raise RuntimeError(f"the training process ended without an answer (exit code {process.exitcode})")
    try:
        return json.loads(receiving.recv_bytes(MAX_MESSAGE_BYTES))
    except EOFError:
        process.join(5)
        raise RuntimeError(f"the training process ended without an answer (exit code {process.exitcode})") from None


def check_request(request) -> dict:
    """The request's shape, checked before any work: a malformed one fails once, typed."""
    if not isinstance(request, dict):
        raise bad_request("the train request must be an object")
    unknown = sorted(set(request) - REQUEST_KEYS)
    missing = sorted(REQUEST_KEYS - {"checkpointUri"} - set(request))
    if unknown or missing:
        raise bad_request(f"train request: unknown keys {unknown[:10]}, missing keys {missing}")
    for key in ("model", "artifactsUri") + (("checkpointUri",) if "checkpointUri" in request else ()):
        if not isinstance(request[key], str) or len(request[key]) > 4096:
            raise bad_request(f"train request: {key} must be a string of at most 4096 characters")
    matrices = request["matrices"]
    if not isinstance(matrices, dict) or set(matrices) != {"train", "holdout"} or not all(is_ref(m) for m in matrices.values()):
        raise bad_request("train request: matrices must be {train, holdout}, each with uri and sha256")
    trainer = request["trainer"]
    if not isinstance(trainer, dict) or trainer.get("type") not in ("lightgbm", "python"):
        raise bad_request("train request: trainer.type must be lightgbm or python")
    if sorted(set(trainer) - TRAINER_KEYS):
        raise bad_request(f"train request: unknown trainer keys {sorted(set(trainer) - TRAINER_KEYS)}")
    if not isinstance(trainer.get("seed"), int):
        raise bad_request("train request: trainer.seed must be an integer")
    if not isinstance(trainer.get("params", {}), dict):
        raise bad_request("train request: trainer.params must be an object")
    entry = trainer.get("entrypoint")
    if trainer["type"] == "python":
        if not isinstance(entry, dict) or not isinstance(entry.get("function"), str):
            raise bad_request("train request: a python trainer needs its entrypoint with a function")
        if not (isinstance(entry.get("module"), str) or (is_ref(entry.get("code")) and isinstance(entry.get("file"), str))):
            raise bad_request("train request: the entrypoint names a module, or a stored file (code with uri and sha256, file)")
    return request


def is_ref(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("uri"), str) and isinstance(value.get("sha256"), str) and len(value["sha256"]) == 64


