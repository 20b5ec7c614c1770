"""The `train` activity on the `perennial-python` task queue.

Input and output are perennial's training contract (src/training/pythonContract.ts): the
feature matrices and a checkpoint location by URI in; the model as ONNX, the framework's
own file and its holdout probabilities (float64) out, all content-addressed.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import pickle
import time
import traceback

import numpy as np
from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import store
from .context import TrainingContext
from .errors import ConversionError, bad_request, bounded, model_not_servable, trainer_failed, trainer_params_invalid
from .matrices import read_matrix
from .to_onnx import to_onnx
from .trainers.lightgbm_trainer import train_lightgbm
from .trainers.user_code import load_function

#: How often the worker heartbeats while a trainer runs (the workflow's heartbeat timeout is longer).
HEARTBEAT_SECONDS = 2.0
REQUEST_KEYS = {"model", "trainer", "matrices", "artifactsUri", "checkpointUri"}
TRAINER_KEYS = {"type", "params", "seed", "entrypoint"}

_fits = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="perennial-fit")


@activity.defn(name="train")
async def train(request: dict) -> dict:
    checked = check_request(request)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    contexts: list[TrainingContext] = []

    def read_fit_export() -> dict:
        train_m, holdout_m = read_matrix(checked["matrices"]["train"]), read_matrix(checked["matrices"]["holdout"])
        if train_m.names != holdout_m.names:
            raise bad_request("the train and holdout matrices have different feature columns")
        trainer = checked["trainer"]
        ctx = TrainingContext(train_m.x, train_m.y, holdout_m.x, holdout_m.y, train_m.names, trainer.get("params") or {}, trainer["seed"])
        contexts.append(ctx)
        return fit_and_export(checked, ctx)

    work = loop.run_in_executor(_fits, read_fit_export)
    # A user's fit has no callback: the worker says it is alive from here while it reads and fits.
    # (A cancelled attempt's thread cannot be stopped; it finishes and its result is dropped.)
    while True:
        done, _ = await asyncio.wait({work}, timeout=HEARTBEAT_SECONDS)
        if done:
            break
        activity.heartbeat(contexts[0].progress() if contexts else {"phase": "read matrices"})
    result = work.result()
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


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
        except Exception as err:
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
