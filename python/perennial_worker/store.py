"""The artifact store as the Python worker sees it: URIs in, content-addressed URIs out.

Only `file:` URIs today; every read and write goes through here, so another scheme is one
more branch in `_path`.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from urllib.parse import unquote, urlparse
from urllib.request import pathname2url

from .errors import bad_request


def _path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise bad_request(f"unsupported artifact URI {uri!r} (this worker reads and writes file: URIs)")
    return unquote(parsed.path)


def _uri(path: str) -> str:
    return "file://" + pathname2url(os.path.abspath(path))


def read_bytes(uri: str, sha256: str | None = None) -> bytes:
    with open(_path(uri), "rb") as f:
        data = f.read()
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise bad_request(f"{uri} has sha256 {got}, expected {sha256}")
    return data


def local_path(uri: str) -> str:
    """A path to read the artifact from (the file itself, for file: URIs)."""
    return _path(uri)


def put(root_uri: str, kind: str, data: bytes, ext: str) -> dict:
    """Stores `data` at `<root>/<kind>/<sha256>.<ext>`, written to a temporary name and renamed into place."""
    digest = hashlib.sha256(data).hexdigest()
    root = _path(root_uri)
    target = os.path.join(root, kind, f"{digest}.{ext}")
    if not os.path.exists(target):
        _write_atomic(target, data, os.path.join(root, "tmp"))
    return {"uri": _uri(target), "sha256": digest, "bytes": len(data)}


def put_named(uri: str, data: bytes) -> None:
    """Replaces a named file (a checkpoint) atomically."""
    target = _path(uri)
    _write_atomic(target, data, os.path.dirname(target))


def _write_atomic(target: str, data: bytes, tmp_dir: str) -> None:
    """On disk under a temporary name first, then renamed: a crash never leaves a short file under `target`."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.makedirs(tmp_dir, exist_ok=True)
    tmp = os.path.join(tmp_dir, f".{uuid.uuid4()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_named(uri: str) -> bytes | None:
    try:
        with open(_path(uri), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def remove_named(uri: str) -> None:
    try:
        os.remove(_path(uri))
    except FileNotFoundError:
        pass
