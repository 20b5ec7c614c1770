"""The artifact store as the Python worker sees it: URIs in, content-addressed URIs out.

`file:` URIs are files on this machine; `s3://bucket/key` URIs are objects read and written
with boto3 and the standard AWS_* settings (AWS_ENDPOINT_URL for an S3-compatible server,
addressed path-style then), as perennial's Node side does. A content-addressed object is
written once (`If-None-Match: *`) and checked against its sha256 when read. A storage
failure is an OSError, so the activity retries it like a full disk.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from urllib.parse import unquote, urlparse
from urllib.request import pathname2url

from .errors import bad_request

_CONTENT_ADDRESS = re.compile(r"/([0-9a-f]{64})\.[a-z0-9]+$")
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$")


class StoreUnavailable(OSError):
    """The object store could not be reached or refused a request: worth retrying."""


def _scheme(uri: str) -> str:
    scheme = urlparse(uri).scheme
    if scheme not in ("file", "s3"):
        raise bad_request(f"unsupported artifact URI {uri[:200]!r} (this worker reads and writes file: and s3: URIs)")
    return scheme


def _path(uri: str) -> str:
    return unquote(urlparse(uri).path)


def _uri(path: str) -> str:
    return "file://" + pathname2url(os.path.abspath(path))


def _bucket_key(uri: str) -> tuple[str, str]:
    m = _S3_URI.match(uri)
    if not m or "/../" in f"/{m.group(2)}/":
        raise bad_request(f"malformed S3 URI {uri[:200]!r}: expected s3://bucket/key")
    return m.group(1), m.group(2)


_client = None


def _s3():
    """One client per process (a fit runs in a process of its own), from the standard AWS settings."""
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        _client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            config=Config(
                s3={"addressing_style": "path"} if endpoint else {},
                retries={"max_attempts": 4, "mode": "standard"},
                connect_timeout=5,
                read_timeout=120,
            ),
        )
    return _client


def _status(err: Exception) -> int | None:
    return getattr(err, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")


def _unavailable(what: str, uri: str, err: Exception) -> StoreUnavailable:
    status = _status(err)
    return StoreUnavailable(f"cannot {what} {uri}: {type(err).__name__}{f' (HTTP {status})' if status else ''}: {err}")


def _get(uri: str, missing_is_none: bool = False) -> bytes | None:
    bucket, key = _bucket_key(uri)
    try:
        return _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as err:  # noqa: BLE001 - botocore's errors are many; all of them are the store's
        if missing_is_none and _status(err) == 404:
            return None
        raise _unavailable("read", uri, err) from err


def _verify(uri: str, data: bytes, sha256: str | None) -> bytes:
    expected = sha256 or (m.group(1) if (m := _CONTENT_ADDRESS.search(uri)) else None)
    if expected is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != expected:
            raise bad_request(f"{uri} has sha256 {got}, expected {expected}")
    return data


def read_bytes(uri: str, sha256: str | None = None) -> bytes:
    if _scheme(uri) == "s3":
        data = _get(uri)
    else:
        with open(_path(uri), "rb") as f:
            data = f.read()
    return _verify(uri, data, sha256)


def put(root_uri: str, kind: str, data: bytes, ext: str) -> dict:
    """Stores `data` at `<root>/<kind>/<sha256>.<ext>`, once: what is there already is the same bytes."""
    digest = hashlib.sha256(data).hexdigest()
    if _scheme(root_uri) == "s3":
        uri = f"{root_uri.rstrip('/')}/{kind}/{digest}.{ext}"
        bucket, key = _bucket_key(uri)
        try:
            _s3().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except Exception as err:  # noqa: BLE001
            if _status(err) != 412:
                raise _unavailable("write", uri, err) from err
        return {"uri": uri, "sha256": digest, "bytes": len(data)}
    root = _path(root_uri)
    target = os.path.join(root, kind, f"{digest}.{ext}")
    if not os.path.exists(target):
        _write_atomic(target, data, os.path.join(root, "tmp"))
    return {"uri": _uri(target), "sha256": digest, "bytes": len(data)}


def put_named(uri: str, data: bytes) -> None:
    """Replaces a named file (a checkpoint) whole."""
    if _scheme(uri) == "s3":
        bucket, key = _bucket_key(uri)
        try:
            _s3().put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as err:  # noqa: BLE001
            raise _unavailable("write", uri, err) from err
        return
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
    if _scheme(uri) == "s3":
        return _get(uri, missing_is_none=True)
    try:
        with open(_path(uri), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def remove_named(uri: str) -> None:
    if _scheme(uri) == "s3":
        bucket, key = _bucket_key(uri)
        try:
            _s3().delete_object(Bucket=bucket, Key=key)
        except Exception as err:  # noqa: BLE001
            if _status(err) != 404:
                raise _unavailable("delete", uri, err) from err
        return
    try:
        os.remove(_path(uri))
    except FileNotFoundError:
        pass
