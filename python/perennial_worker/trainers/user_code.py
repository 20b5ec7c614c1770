"""`trainer: { type: python, entrypoint: ... }`: the user's function, from the copy of its file
the spec loader stored (so every worker runs the same code), or from an importable module."""
from __future__ import annotations

import importlib
import sys
import types

from .. import store
from ..errors import bad_request, bounded, trainer_failed


def load_function(entry: dict):
    function = entry["function"]
    if "module" in entry:
        try:
            module = importlib.import_module(entry["module"])
        except Exception as err:
            raise trainer_failed(bounded(f"cannot import {entry['module']}: {type(err).__name__}: {err}")) from None
        where = entry["module"]
    else:
        code = entry["code"]
        data = store.read_bytes(code["uri"], code["sha256"])
        module_name = f"perennial_trainer_{code['sha256'][:16]}"
        module = sys.modules.get(module_name)
        if module is None:
            # The verified bytes themselves are compiled: no copy on disk that could change in between.
            filename = f"perennial-trainers/{code['sha256'][:12]}/{entry.get('file') or 'trainer.py'}"
            module = types.ModuleType(module_name)
            module.__file__ = filename
            try:
                exec(compile(data, filename, "exec"), module.__dict__)
            except Exception as err:
                raise trainer_failed(bounded(f"{entry.get('file')}: cannot load: {type(err).__name__}: {err}")) from None
            sys.modules[module_name] = module
        where = entry.get("file") or module_name
    fn = getattr(module, function, None)
    if not callable(fn):
        raise bad_request(f"{where} has no function {function!r}")
    return fn
