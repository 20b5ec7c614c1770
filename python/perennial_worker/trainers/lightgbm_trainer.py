"""`trainer: { type: lightgbm }`: perennial's own LightGBM trainer.

Its params are checked key by key (LightGBM itself only warns of a key it does not know),
and it checkpoints every few rounds so a retried attempt resumes with `init_model`.
"""
from __future__ import annotations

import lightgbm as lgb

from .. import store
from ..context import TrainingContext
from ..errors import bounded, trainer_failed, trainer_params_invalid

# The keys the spec accepts (src/spec/modelSpec.ts LightGbmParams): the same list, checked again here
# because this worker may serve a caller other than perennial's own workflow.
PARAMS = {
    "num_leaves", "learning_rate", "num_boost_round", "max_depth", "min_data_in_leaf", "min_sum_hessian_in_leaf",
    "lambda_l1", "lambda_l2", "feature_fraction", "bagging_fraction", "bagging_freq", "max_bin", "min_gain_to_split",
    "num_threads",
}
CHECKPOINT_EVERY = 10


def lightgbm_params(params: dict, seed: int) -> tuple[dict, int]:
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise trainer_params_invalid(f"lightgbm trainer: unknown params {', '.join(unknown)} (known: {', '.join(sorted(PARAMS))})")
    rounds = params.get("num_boost_round", 100)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise trainer_params_invalid(f"lightgbm trainer: num_boost_round must be a positive integer, got {rounds!r}")
    chosen = {k: v for k, v in params.items() if k != "num_boost_round"}
    return {
        **chosen,
        "objective": "binary",
        "seed": seed,
        "deterministic": True,
        "verbose": -1,
    }, rounds


def resumable(params: dict) -> bool:
    bagging = params.get("bagging_fraction", 1.0) < 1.0 and params.get("bagging_freq", 0) > 0
    return not bagging and params.get("feature_fraction", 1.0) >= 1.0


def train_lightgbm(ctx: TrainingContext, checkpoint_uri: str | None) -> tuple[lgb.Booster, dict]:
    params, rounds = lightgbm_params(ctx.params, ctx.seed)
    dataset = lgb.Dataset(ctx.X_train, ctx.y_train, feature_name=ctx.feature_names, free_raw_data=False)
    if not resumable(params):
        # Bagging and feature sampling draw afresh after init_model: a resumed model would
        # differ from one trained straight through, so a retry starts over instead.
        checkpoint_uri = None
    saved = store.read_named(checkpoint_uri) if checkpoint_uri else None
    init = lgb.Booster(model_str=saved.decode("utf-8")) if saved else None
    done = init.current_iteration() if init else 0
    if init is not None and done >= rounds:
        return init, {"rounds": done, "resumedFromRound": done}

    def checkpoint(env: lgb.callback.CallbackEnv) -> None:
        # With init_model, LightGBM counts iterations from the resumed model's.
        round_ = env.iteration + 1
        ctx.heartbeat({"round": round_, "rounds": rounds})
        if checkpoint_uri and round_ % CHECKPOINT_EVERY == 0 and round_ < rounds:
            store.put_named(checkpoint_uri, env.model.model_to_string().encode("utf-8"))

    try:
        booster = lgb.train(params, dataset, num_boost_round=rounds - done, init_model=init, callbacks=[checkpoint])
    except lgb.basic.LightGBMError as err:
        raise trainer_failed(bounded(f"lightgbm trainer: {err}")) from None
    return booster, {"rounds": booster.current_iteration(), "resumedFromRound": done}
