"""A fitted model, whatever its framework, as one ONNX graph perennial serves from Node.

Every graph perennial stores takes one input, `features` (rows × features, float64), and
gives one output, `probability` (rows, float64): the positive class's probability.
Trees keep double thresholds (ai.onnx.ml opset 3 tensor attributes) and are fed float64
features, so each split compares exactly as the framework compared it while training;
float32 thresholds would send a value lying between a threshold and its float32 rounding
down the other branch.
"""
from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import ConversionError

INPUT = "features"
OUTPUT = "probability"
ML_OPSET = 3
ONNX_OPSET = 17


def to_onnx(model, n_features: int) -> tuple[onnx.ModelProto, dict]:
    """The ONNX graph of `model` and a description of where it came from."""
    if isinstance(model, onnx.ModelProto):
        return normalize_onnx(model, n_features), {"name": "onnx", "version": onnx.__version__}
    try:
        import lightgbm as lgb
    except ImportError:  # pragma: no cover - lightgbm is in the pinned requirements
        lgb = None
    if lgb is not None:
        if isinstance(model, lgb.Booster):
            return lightgbm_to_onnx(model, n_features), {"name": "lightgbm", "version": lgb.__version__}
        if isinstance(model, lgb.LGBMClassifier):
            return lightgbm_to_onnx(model.booster_, n_features), {"name": "lightgbm", "version": lgb.__version__}
    kind = type(model).__module__.split(".")[0]
    if type(model).__name__ == "HistGradientBoostingClassifier" and kind == "sklearn":
        return hist_gradient_boosting_to_onnx(model, n_features), {"name": "scikit-learn", "version": __import__("sklearn").__version__}
    if kind == "xgboost":
        return xgboost_to_onnx(model, n_features), {"name": "xgboost", "version": __import__("xgboost").__version__}
    if hasattr(model, "predict_proba") and hasattr(model, "fit"):
        return sklearn_to_onnx(model, n_features), {"name": "scikit-learn", "version": __import__("sklearn").__version__}
    raise ConversionError(
        f"the trainer returned a {type(model).__module__}.{type(model).__name__}; expected a fitted LightGBM Booster, "
        "an sklearn-compatible classifier (incl. Pipeline), an XGBoost model or an onnx.ModelProto"
    )


# ---------------------------------------------------------------- LightGBM

def lightgbm_to_onnx(booster, n_features: int) -> onnx.ModelProto:
    dump = booster.dump_model()
    objective = str(dump.get("objective", ""))
    if not objective.startswith("binary"):
        raise ConversionError(f"the LightGBM model's objective is {objective!r}; perennial serves binary classifiers")
    match = re.search(r"sigmoid:([0-9.eE+-]+)", objective)
    sigmoid = float(match.group(1)) if match else 1.0
    if dump.get("num_class", 1) != 1 or dump.get("num_tree_per_iteration", 1) != 1:
        raise ConversionError("the LightGBM model has more than one tree per iteration; perennial serves binary classifiers")
    if dump.get("average_output"):
        raise ConversionError("the LightGBM model averages its trees (boosting: rf); perennial converts boosted models only")
    if dump.get("max_feature_idx", -1) + 1 > n_features:
        raise ConversionError(f"the LightGBM model reads {dump['max_feature_idx'] + 1} features, the matrices have {n_features}")
    nodes = _TreeNodes()
    for tree in dump["tree_info"]:
        if tree.get("num_cat", 0):
            raise ConversionError("the LightGBM model has categorical splits; perennial's features are numeric")
        nodes.add_tree(tree["tree_index"], tree["tree_structure"])
    # LightGBM's raw score times its sigmoid coefficient, through the logistic function.
    return nodes.model(n_features, scale=sigmoid, producer="perennial lightgbm")


# ---------------------------------------------------------------- scikit-learn's HistGradientBoosting

def hist_gradient_boosting_to_onnx(model, n_features: int) -> onnx.ModelProto:
    """perennial's own conversion: skl2onnx writes its float64 thresholds as float32, and
    HistGradientBoosting compares float64 features (unlike sklearn's other trees, which
    compare float32), so a value between the two roundings would take the other branch."""
    if getattr(model, "n_trees_per_iteration_", 1) != 1 or len(getattr(model, "classes_", [])) != 2:
        raise ConversionError("the HistGradientBoostingClassifier is not a binary classifier")
    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise ConversionError("the HistGradientBoostingClassifier has categorical features; perennial's features are numeric")
    if getattr(model, "n_features_in_", n_features) != n_features:
        raise ConversionError(f"the model reads {model.n_features_in_} features, the matrices have {n_features}")
    nodes = _TreeNodes()
    for tree_id, per_iteration in enumerate(model._predictors):
        tree = per_iteration[0].nodes

        def as_dict(i: int) -> dict:
            node = tree[i]
            if node["is_leaf"]:
                return {"leaf_value": float(node["value"])}
            return {
                "split_index": i, "split_feature": int(node["feature_idx"]), "threshold": float(node["num_threshold"]),
                "decision_type": "<=", "missing_type": "NaN", "default_left": bool(node["missing_go_to_left"]),
                "left_child": as_dict(int(node["left"])), "right_child": as_dict(int(node["right"])),
            }

        nodes.add_tree(tree_id, as_dict(0))
    baseline = float(np.asarray(model._baseline_prediction).reshape(-1)[0])
    return nodes.model(n_features, scale=1.0, producer="perennial scikit-learn", base=baseline)


class _TreeNodes:
    """ai.onnx.ml TreeEnsembleRegressor attributes, built tree by tree (double precision)."""

    def __init__(self):
        self.a = {k: [] for k in (
            "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
            "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
            "target_treeids", "target_nodeids", "target_ids", "target_weights",
        )}

    def add_tree(self, tree_id: int, root: dict) -> None:
        counter = [0]

        def visit(node: dict) -> int:
            node_id = counter[0]
            counter[0] += 1
            a = self.a
            a["nodes_treeids"].append(tree_id)
            a["nodes_nodeids"].append(node_id)
            if "split_index" not in node:
                if "leaf_coeff" in node:
                    raise ConversionError("the LightGBM model has linear trees (linear_tree); perennial converts constant leaves only")
                a["nodes_featureids"].append(0)
                a["nodes_modes"].append("LEAF")
                a["nodes_values"].append(0.0)
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["nodes_missing_value_tracks_true"].append(0)
                a["target_treeids"].append(tree_id)
                a["target_nodeids"].append(node_id)
                a["target_ids"].append(0)
                a["target_weights"].append(float(node["leaf_value"]))
                return node_id
            if node.get("decision_type") != "<=":
                raise ConversionError(f"a LightGBM split of type {node.get('decision_type')!r} (only numeric <= splits are served)")
            threshold = float(node["threshold"])
            missing = node.get("missing_type", "None")
            if missing == "NaN":
                nan_left = bool(node["default_left"])
            elif missing == "None":
                # LightGBM reads a missing value as 0.0 at this split.
                nan_left = 0.0 <= threshold
            else:
                raise ConversionError("a LightGBM split treats zero as missing (zero_as_missing); perennial does not serve those")
            index = len(a["nodes_nodeids"]) - 1
            a["nodes_featureids"].append(int(node["split_feature"]))
            a["nodes_modes"].append("BRANCH_LEQ")
            a["nodes_values"].append(threshold)
            a["nodes_missing_value_tracks_true"].append(1 if nan_left else 0)
            a["nodes_truenodeids"].append(0)
            a["nodes_falsenodeids"].append(0)
            a["nodes_truenodeids"][index] = visit(node["left_child"])
            a["nodes_falsenodeids"][index] = visit(node["right_child"])
            return node_id

        visit(root)

    def model(self, n_features: int, scale: float, producer: str, base: float = 0.0) -> onnx.ModelProto:
        a = self.a
        values = np.array(a.pop("nodes_values"), dtype=np.float64)
        weights = np.array(a.pop("target_weights"), dtype=np.float64)
        trees = helper.make_node(
            "TreeEnsembleRegressor", [INPUT], ["raw"], domain="ai.onnx.ml", n_targets=1, aggregate_function="SUM",
            post_transform="NONE",
            nodes_values_as_tensor=numpy_helper.from_array(values, "nodes_values_as_tensor"),
            target_weights_as_tensor=numpy_helper.from_array(weights, "target_weights_as_tensor"),
            base_values_as_tensor=numpy_helper.from_array(np.array([base], dtype=np.float64), "base_values_as_tensor"),
            **a,
        )
        scale_c = helper.make_node("Constant", [], ["scale"], value=numpy_helper.from_array(np.array(scale, dtype=np.float64)))
        # The ensemble's sum comes out as float32 (the operator's only output type): a relative
        # error of ~1e-7 on the margin, far inside the parity bound.
        raw64 = helper.make_node("Cast", ["raw"], ["raw64"], to=TensorProto.DOUBLE)
        scaled = helper.make_node("Mul", ["raw64", "scale"], ["scaled"])
        prob = helper.make_node("Sigmoid", ["scaled"], ["prob2d"])
        shape = helper.make_node("Constant", [], ["flat"], value=numpy_helper.from_array(np.array([-1], dtype=np.int64)))
        flat = helper.make_node("Reshape", ["prob2d", "flat"], [OUTPUT])
        graph = helper.make_graph(
            [trees, raw64, scale_c, scaled, prob, shape, flat], "perennial",
            [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, [None, n_features])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, [None])],
        )
        model = helper.make_model(graph, producer_name=producer, opset_imports=[
            helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


# ---------------------------------------------------------------- scikit-learn, XGBoost, ONNX

def sklearn_to_onnx(model, n_features: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    def convert(tensor_type):
        try:
            return convert_sklearn(
                model, initial_types=[(INPUT, tensor_type([None, n_features]))],
                options={"zipmap": False}, target_opset={"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET},
            )
        except Exception as err:  # skl2onnx raises many kinds; all mean "cannot convert"
            raise ConversionError(f"skl2onnx cannot convert the {type(model).__name__}: {err}") from err

    proto = convert(DoubleTensorType)
    # onnxruntime runs ai.onnx.ml's trees in double, but most of its other operators
    # (Imputer, Scaler, …) in float only: such a pipeline is converted in float32, and
    # the parity check at registration says whether its float32 splits still agree.
    if any(n.domain == "ai.onnx.ml" and n.op_type not in DOUBLE_ML_OPS for n in proto.graph.node):
        proto = convert(FloatTensorType)
    return normalize_onnx(proto, n_features)


DOUBLE_ML_OPS = {"TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble"}


def xgboost_to_onnx(model, n_features: int) -> onnx.ModelProto:
    try:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        proto = convert_xgboost(model, initial_types=[(INPUT, FloatTensorType([None, n_features]))], target_opset=ONNX_OPSET)
    except Exception as err:
        raise ConversionError(f"onnxmltools cannot convert the XGBoost model: {err}") from err
    return normalize_onnx(proto, n_features)


def normalize_onnx(model: onnx.ModelProto, n_features: int) -> onnx.ModelProto:
    """Gives a classifier graph perennial's input (`features`, float64) and output (`probability`)."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ConversionError(f"the ONNX model has {len(inputs)} inputs; perennial feeds one (rows × {n_features} features)")
    _double_input(graph, inputs[0], n_features)
    given = [o for o in graph.output if o.name == OUTPUT]
    if not given:
        _probability_output(graph)
    elif given[0].type.tensor_type.elem_type != TensorProto.DOUBLE or len(given[0].type.tensor_type.shape.dim) != 1:
        raise ConversionError(f"the ONNX model's {OUTPUT!r} output must be float64, one value per row")
    return _checked(model)


def _double_input(graph, given, n_features: int) -> None:
    elem = given.type.tensor_type.elem_type
    if elem not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        raise ConversionError(f"the ONNX model's input is of element type {TensorProto.DataType.Name(elem)}; expected float or double")
    dims = given.type.tensor_type.shape.dim
    if len(dims) != 2 or (dims[1].HasField("dim_value") and dims[1].dim_value != n_features):
        raise ConversionError(f"the ONNX model's input is not rows × {n_features} features")
    old = given.name
    graph.input.remove(given)
    graph.input.insert(0, helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, [None, n_features]))
    if elem == TensorProto.DOUBLE:
        if old != INPUT:
            for node in graph.node:
                node.input[:] = [INPUT if n == old else n for n in node.input]
        return
    # A float32 graph: perennial still feeds float64, cast at the graph's door.
    cast_to = old if old != INPUT else INPUT + "_float"
    if old == INPUT:
        for node in graph.node:
            node.input[:] = [cast_to if n == old else n for n in node.input]
    graph.node.insert(0, helper.make_node("Cast", [INPUT], [cast_to], to=TensorProto.FLOAT))


def _probability_output(graph) -> None:
    candidates = [o for o in graph.output if o.type.HasField("tensor_type") and len(o.type.tensor_type.shape.dim) == 2
                  and o.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.DOUBLE)]
    if not candidates:
        raise ConversionError(
            "the ONNX model has no probability tensor output (rows × 2); a ZipMap output is not served: convert with zipmap=False")
    probs = candidates[-1]
    index = helper.make_node("Constant", [], ["perennial_positive"], value=numpy_helper.from_array(np.array(1, dtype=np.int64)))
    take = helper.make_node("Gather", [probs.name, "perennial_positive"], [OUTPUT + "_any"], axis=1)
    cast = helper.make_node("Cast", [OUTPUT + "_any"], [OUTPUT], to=TensorProto.DOUBLE)
    graph.node.extend([index, take, cast])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, [None]))


def _checked(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        raise ConversionError(f"the ONNX model does not pass onnx.checker: {err}") from err
    return model

