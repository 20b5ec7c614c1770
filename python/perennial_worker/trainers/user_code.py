"""`trainer: { type: python, entrypoint: ... }`: the user's function, from the copy of its file
the spec loader stored (so every worker runs the same code), or from an importable module."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import tempfile

from .. import store
from ..errors import bad_request, trainer_failed


def load_function(entry: dict):
    function = entry["function"]
    if "module" in entry:
        try:
            module = importlib.import_module(entry["module"])
        except Exception as err:
            raise trainer_failed(f"cannot import {entry['module']}: {type(err).__name__}: {err}") from None
        where = entry["module"]
    else:
        code = entry["code"]
        data = store.read_bytes(code["uri"], code["sha256"])
        module_name = f"perennial_trainer_{code['sha256'][:16]}"
        if module_name in sys.modules:
            module = sys.modules[module_name]
        else:
            folder = os.path.join(tempfile.gettempdir(), "perennial-trainers", code["sha256"])
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, os.path.basename(entry.get("file") or "trainer.py"))
            if not os.path.exists(path) or hashlib.sha256(open(path, "rb").read()).hexdigest() != code["sha256"]:
                with open(path, "wb") as f:
                    f.write(data)
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as err:
                raise trainer_failed(f"{entry.get('file')}: cannot load: {type(err).__name__}: {err}") from None
            sys.modules[module_name] = module
        where = entry.get("file") or module_name
    fn = getattr(module, function, None)
    if not callable(fn):
        raise bad_request(f"{where} has no function {function!r}")
    return fn
