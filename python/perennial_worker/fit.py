"""One training, start to end, in a process of its own (see train.py): read the matrices,
fit, convert to ONNX, score the holdout with the framework, store the outputs.

The activity's process only relays heartbeats and can kill this one: a cancelled or timed-out
attempt's fit stops with it, and a trainer that crashes its interpreter fails one attempt,
not the worker.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import threading
import time
import traceback

import numpy as np
from temporalio.exceptions import ApplicationError

from . import store
from .context import TrainingContext
from .errors import ConversionError, bad_request, bounded, model_not_servable, trainer_failed, trainer_params_invalid
from .matrices import read_matrix
from .to_onnx import to_onnx
from .trainers.lightgbm_trainer import train_lightgbm
from .trainers.user_code import load_function


def run(request: dict, conn, worker_alive) -> None:
    """The child process's entry: sends ("progress", …) while it works, then ("result", …) or ("error", …)."""
    # A group of its own: the processes a trainer starts (joblib, a Pool) are stopped with it.
    os.setsid()
    _orphan_watch(worker_alive)
    lock = threading.Lock()

    def send(kind: str, payload) -> None:
        # JSON, bounded, whatever the trainer put in its progress or errors: the worker never unpickles it.
        text = json.dumps([kind, payload], default=str)
        if len(text) > 1024 * 1024:
            text = json.dumps(["error", {"message": f"the trainer's {kind} is {len(text)} bytes as JSON", "type": "TrainerFailed", "nonRetryable": True, "details": []}])
        with lock:
            conn.send_bytes(text.encode("utf-8"))

    try:
        send("result", read_fit_export(request, lambda progress: send("progress", progress)))
    except ApplicationError as err:
        send("error", {"message": err.message, "type": err.type, "nonRetryable": err.non_retryable, "details": list(err.details)})
    except BaseException as err:  # noqa: BLE001 - whatever it is, the activity reports it (retryable)
        send("error", {"message": bounded(f"{type(err).__name__}: {err}"), "type": None, "nonRetryable": False, "details": []})
    finally:
        conn.close()


def _orphan_watch(worker_alive) -> None:
    """Ends this process once the worker that asked for it is gone (say, SIGKILLed): a fit must
    not go on writing its checkpoint beside the retry on another worker. The worker holds the
    other end of `worker_alive` until it is done with this process; when it dies, the OS
    closes it, and the wait here returns."""

    def watch() -> None:
        worker_alive.poll(None)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="perennial-orphan-watch", daemon=True).start()


def kill_group(process) -> None:
    """Kills a fit process and every process it started (its own process group), then reaps it."""
    if process.pid is None:
        return
    try:
        # Even after the fit process itself has ended: what it started may still run.
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        # Ended with its whole group, or killed before it made its group.
        if process.exitcode is None:
            process.kill()
    process.join()


def read_fit_export(request: dict, report) -> dict:
    train_m, holdout_m = read_matrix(request["matrices"]["train"]), read_matrix(request["matrices"]["holdout"])
    if train_m.names != holdout_m.names:
        raise bad_request("the train and holdout matrices have different feature columns")
    trainer = request["trainer"]
    ctx = TrainingContext(train_m.x, train_m.y, holdout_m.x, holdout_m.y, train_m.names, trainer.get("params") or {}, trainer["seed"], report)
    report(ctx.progress())
    return fit_and_export(request, ctx)


def fit_and_export(request: dict, ctx: TrainingContext) -> dict:
    trainer = request["trainer"]
    rounds: dict = {}
    fit_started = time.monotonic()
    if trainer["type"] == "lightgbm":
        try:
            model, rounds = train_lightgbm(ctx, request.get("checkpointUri"))
        except (ApplicationError, OSError):
            raise
        except Exception as err:
            raise trainer_failed(bounded(f"lightgbm trainer: {type(err).__name__}: {err}")) from None
    else:
        fn = load_function(trainer["entrypoint"])
        try:
            model = fn(ctx)
        except ApplicationError:
            raise
        except (Exception, SystemExit) as err:
            # Not chained: the typed failure is the root the workflow and `npm run train` report;
            # the user's traceback travels in its details.
            raise user_error(err, trainer["entrypoint"]) from None
        if model is None:
            raise trainer_failed(f"{where(trainer['entrypoint'])} returned None; expected a fitted model")
    rounds["fitSeconds"] = round(time.monotonic() - fit_started, 3)
    return exported(request, ctx, model, rounds)


def exported(request: dict, ctx: TrainingContext, model, rounds: dict) -> dict:
    try:
        return export(request, ctx, model, rounds)
    except (ApplicationError, OSError):
        # A storage error may pass; anything else about this model fails the same way again.
        raise
    except ConversionError as err:
        raise model_not_servable(str(err)) from None
    except Exception as err:
        raise model_not_servable(f"the trained model cannot be exported: {type(err).__name__}: {err}") from None


def export(request: dict, ctx: TrainingContext, model, rounds: dict) -> dict:
    proto, framework = to_onnx(model, len(ctx.feature_names))
    try:
        probabilities = holdout_probabilities(model, proto, ctx.X_holdout)
    except Exception as err:
        raise model_not_servable(f"the trained model cannot score the holdout: {type(err).__name__}: {err}") from None
    root = request["artifactsUri"]
    native = native_file(model, proto)
    result = {
        "onnx": store.put(root, "onnx", proto.SerializeToString(), "onnx"),
        "native": {**store.put(root, "native", native["bytes"], native["ext"]), "format": native["format"]},
        "holdoutScores": {**store.put(root, "scores", probabilities.astype("<f8").tobytes(), "f64"), "rows": int(probabilities.shape[0])},
        "framework": framework,
        **rounds,
    }
    if request.get("checkpointUri"):
        store.remove_named(request["checkpointUri"])
    return result


def where(entry: dict) -> str:
    return f"{entry.get('file') or entry.get('module')}:{entry['function']}"


def user_error(err: Exception, entry: dict) -> ApplicationError:
    """The trainer's own exception, named and located in its file, as a non-retryable failure."""
    user_frames = [f for f in traceback.extract_tb(err.__traceback__) if "perennial-trainers" in f.filename]
    at = f" (at {entry.get('file') or 'trainer'} line {user_frames[-1].lineno})" if user_frames else ""
    message = f"{where(entry)} raised {type(err).__name__}: {err}{at}"
    trace = "".join(traceback.format_exception(err))[-8000:]
    return trainer_params_invalid(message, trace) if is_param_error(err) else trainer_failed(message, trace)


def is_param_error(err: Exception) -> bool:
    try:
        from sklearn.utils._param_validation import InvalidParameterError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, InvalidParameterError)


def holdout_probabilities(model, proto, x: np.ndarray) -> np.ndarray:
    """The framework's own positive-class probabilities on the holdout, float64."""
    import onnx

    if isinstance(model, onnx.ModelProto):
        # No framework to ask: onnx's reference evaluator, a second implementation beside onnxruntime.
        from onnx.reference import ReferenceEvaluator

        return np.asarray(ReferenceEvaluator(proto).run(["probability"], {"features": x})[0], dtype=np.float64).reshape(-1)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=np.float64)[:, 1]
    return np.asarray(model.predict(x), dtype=np.float64).reshape(-1)


def native_file(model, proto) -> dict:
    import onnx

    if isinstance(model, onnx.ModelProto):
        return {"bytes": proto.SerializeToString(), "ext": "onnx", "format": "onnx"}
    if hasattr(model, "model_to_string"):
        return {"bytes": model.model_to_string().encode("utf-8"), "ext": "txt", "format": "lightgbm-text"}
    if hasattr(model, "booster_") and hasattr(model.booster_, "model_to_string"):
        return {"bytes": model.booster_.model_to_string().encode("utf-8"), "ext": "txt", "format": "lightgbm-text"}
    if type(model).__module__.startswith("xgboost"):
        return {"bytes": bytes(model.get_booster().save_raw("json")) if hasattr(model, "get_booster") else bytes(model.save_raw("json")), "ext": "json", "format": "xgboost-json"}
    return {"bytes": pickle.dumps(model, protocol=5), "ext": "pkl", "format": "python-pickle"}
