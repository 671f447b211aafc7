"""Photo bytes: one `Storage` interface, a local-disk backend and an S3-compatible one.

Clients never send photo bytes through GraphQL: Anju answers an upload URL signed for one key,
one content type and a short time; the client PUTs the bytes there; Anju then reads them back
(`get(key, max_bytes=...)`) and checks them (app/images.py) before a photo can be attached.

    StorageError        the backend failed or did not answer in time (SERVICE_UNAVAILABLE)
    ObjectTooLarge      `get(key, max_bytes=...)` found more bytes than that (read no further)
    InvalidKey          a key outside [A-Za-z0-9/_.-] or shaped like a path trick (a bug)

`LocalDiskStorage` (the default) keeps files under a directory and signs URLs to Anju's own
routes as snapshots do: `/uploads/<key>` (PUT) and `/files/<key>` (GET) with `exp` (unix
seconds) and `sig`, HMAC-SHA256 under a key derived from ANJU_URL_SIGNING_KEY over the method,
key, expiry and, for an upload, the content type and exact byte size. The routes call
`verify_upload` / `verify_download` (constant-time, expiry checked), passing the size of the
body they got. It keeps no content type: the photo record carries it.

`S3Storage` speaks S3 (Aliyun OSS, Tencent COS, MinIO, AWS; tested against versitygw) through
opendal (Apache OpenDAL: Apache-2.0, an ASF project releasing monthly, abi3 wheels for CPython
3.11+ on manylinux x86_64). Chosen over obstore (MIT, Development Seed, as async and as well
wheeled) for what matters here: opendal's `presign_write` signs the Content-Type header into
the URL and returns the headers to send, so the server refuses a PUT of another type; obstore's
`sign()` takes only method, path and expiry, so whoever holds the URL could store text/html
under a photo key. Neither can pin Content-Length (S3 has no length condition on a presigned
PUT), hence `max_bytes`. opendal reads no AWS_* variable or ~/.aws (`disable_config_load`),
and its TimeoutLayer bounds every call.

On CPython < 3.14 opendal (like obstore and every pyo3 + tokio binding) can abort the process
when the interpreter exits while a tokio thread is waking the event loop (pyo3#4874, cpython
gh-87135): a one-shot script did 3 times in 30 right after its last call, 0 in 30 once
`aclose()` had yielded briefly, so that the last wake-up lands first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import math
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import opendal
from opendal import exceptions as odx
from opendal.layers import RetryLayer, TimeoutLayer

# Path segments that cannot climb out (no "..", no hidden or temporary files) or hide tricks.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")
MAX_KEY_LENGTH = 256
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
# S3 refuses presigned URLs valid for longer than 7 days
MAX_URL_LIFETIME = dt.timedelta(days=7)


class StorageError(Exception):
    """The storage backend failed or did not answer in time."""


class ObjectTooLarge(Exception):
    """The stored object is larger than the caller's max_bytes."""


class InvalidKey(ValueError):
    """A key that is not a plain relative path of [A-Za-z0-9/_.-]."""


def check_key(key: str) -> str:
    """The key itself if it is safe as a file path and an S3 key; else InvalidKey."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidKey(f"invalid storage key {key[:80]!r}")
    return key


def _check_content_type(content_type: str) -> str:
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValueError(f"invalid content type {content_type[:80]!r}")
    return content_type


def _lifetime_s(expires_at: dt.datetime) -> int:
    """Whole seconds from now until expires_at (at least 1); refuses the past and > 7 days."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    left = (expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    if left <= 0:
        raise ValueError("expires_at is in the past")
    if left > MAX_URL_LIFETIME.total_seconds():
        raise ValueError("a signed URL lives at most 7 days")
    return max(1, math.ceil(left))


def _check_upload(key: str, content_type: str, byte_size: int, expires_at: dt.datetime) -> int:
    """The upload URL's lifetime in seconds, once every argument is checked."""
    check_key(key)
    _check_content_type(content_type)
    if byte_size <= 0:
        raise ValueError("byte_size must be positive")
    return _lifetime_s(expires_at)


class Storage(Protocol):
    """Where photo bytes live. Keys are checked by `check_key`; URLs are capabilities."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None:
        """The stored bytes, or None if nothing is stored at key; ObjectTooLarge if there are
        more than max_bytes, read no further than that."""
        ...

    async def delete(self, key: str) -> None:
        """Removes key; no error if it is not there."""
        ...

    async def upload_url(
        self, key: str, content_type: str, byte_size: int, expires_at: dt.datetime
    ) -> tuple[str, dict[str, str]]:
        """The URL a client PUTs the bytes to before expires_at, and the headers it must send."""
        ...

    async def download_url(self, key: str, expires_at: dt.datetime) -> str:
        """A URL that serves the bytes at key until expires_at."""
        ...

    async def aclose(self) -> None: ...


class LocalDiskStorage:
    """Files under `root`, served and received by Anju's own signed routes."""

    def __init__(self, root: Path, public_url: str, signing_key: bytes) -> None:
        if len(signing_key) < 16:
            raise ValueError("the URL signing key must have at least 16 bytes")
        self.root = root
        self.public_url = public_url.rstrip("/")
        # a key of its own, so that no other signed URL of Anju (snapshots) can verify here
        self._key = hmac.new(signing_key, b"anju storage URLs v1", hashlib.sha256).digest()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        _check_content_type(content_type)
        await asyncio.to_thread(_write_atomically, path, data)

    async def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None:
        path = self._path(key)
        try:
            data = await asyncio.to_thread(_read_at_most, path, max_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"disk get failed: {type(exc).__name__}") from exc
        if max_bytes is not None and len(data) > max_bytes:
            raise ObjectTooLarge(f"more than {max_bytes} bytes at {key!r}")
        return data

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            pass  # a directory is not an object: nothing stored at that key
        except OSError as exc:
            raise StorageError(f"disk delete failed: {type(exc).__name__}") from exc

    def _sign(self, *parts: str) -> str:
        return hmac.new(self._key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    async def upload_url(
        self, key: str, content_type: str, byte_size: int, expires_at: dt.datetime
    ) -> tuple[str, dict[str, str]]:
        _check_upload(key, content_type, byte_size, expires_at)
        exp = str(int(expires_at.timestamp()))
        sig = self._sign("PUT", key, exp, content_type, str(byte_size))
        url = f"{self.public_url}/uploads/{key}?exp={exp}&sig={sig}"
        return url, {"Content-Type": content_type}

    async def download_url(self, key: str, expires_at: dt.datetime) -> str:
        check_key(key)
        _lifetime_s(expires_at)
        exp = str(int(expires_at.timestamp()))
        return f"{self.public_url}/files/{key}?exp={exp}&sig={self._sign('GET', key, exp)}"

    def verify_upload(
        self,
        key: str,
        exp: str,
        sig: str,
        content_type: str,
        size: int,
        *,
        now: float | None = None,
    ) -> bool:
        """True if (exp, sig) from an /uploads URL were signed for exactly this key, content
        type and body size, and have not expired."""
        return self._verify(["PUT", key, exp, content_type, str(size)], exp, sig, now)

    def verify_download(self, key: str, exp: str, sig: str, *, now: float | None = None) -> bool:
        """True if (exp, sig) from a /files URL were signed for this key and have not expired."""
        return self._verify(["GET", key, exp], exp, sig, now)

    def _verify(self, parts: list[str], exp: str, sig: str, now: float | None) -> bool:
        if not exp.isascii() or not exp.isdigit() or len(exp) > 12 or len(sig) != 64:
            return False
        try:
            check_key(parts[1])
        except InvalidKey:
            return False
        expected = self._sign(*parts)
        if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode()):
            return False
        return int(exp) > (time.time() if now is None else now)

    async def aclose(self) -> None:
        return None


def _read_at_most(path: Path, max_bytes: int | None) -> bytes:
    with path.open("rb") as f:
        return f.read() if max_bytes is None else f.read(max_bytes + 1)


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old bytes or the new ones, never a half-written file."""
    # a leading dot: no valid key names this file
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # a key that collides with a directory, a full disk...
        raise StorageError(f"disk put failed: {type(exc).__name__}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


# opendal's exceptions (NotFound, Unexpected, PermissionDenied...) share no base but Exception
_OPENDAL_ERRORS = tuple(
    e for e in vars(odx).values() if isinstance(e, type) and issubclass(e, Exception)
)


@contextlib.contextmanager
def _failures(operation: str) -> Iterator[None]:
    try:
        yield
    except _OPENDAL_ERRORS as exc:
        raise StorageError(f"S3 {operation} failed: {type(exc).__name__}") from exc


class S3Storage:
    """Objects in one bucket of an S3-compatible service, through opendal."""

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str,
        *,
        virtual_host_style: bool = False,
        timeout_s: float = 10.0,
        io_timeout_s: float = 30.0,
    ) -> None:
        self.bucket = bucket
        s3 = opendal.AsyncOperator(
            "s3", bucket=bucket, endpoint=endpoint_url, region=region,
            access_key_id=access_key, secret_access_key=secret_key,
            disable_config_load="true",  # no AWS_* variables, no ~/.aws
            # Aliyun OSS and Tencent COS want bucket.endpoint, not endpoint/bucket
            enable_virtual_host_style="true" if virtual_host_style else "false",
        )  # fmt: skip
        # each attempt bounded (timeout: stat/delete; io_timeout: one read or write), then
        # two quick retries of temporary errors: worst case about 3 x io_timeout_s
        self._op = s3.layer(TimeoutLayer(timeout=timeout_s, io_timeout=io_timeout_s)).layer(
            RetryLayer(max_times=2, min_delay=0.1, max_delay=1.0)
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        _check_content_type(content_type)
        with _failures("put"):
            await self._op.write(key, data, content_type=content_type)

    async def get(self, key: str, *, max_bytes: int | None = None) -> bytes | None:
        check_key(key)
        with _failures("get"):
            try:
                if max_bytes is None:
                    return bytes(await self._op.read(key))
                size = (await self._op.stat(key)).content_length
                if size > max_bytes:
                    raise ObjectTooLarge(f"{size} bytes at {key!r}, more than {max_bytes}")
                # exactly the size just seen: an object replaced since reads short (an error)
                # or is cut to it, and the caller's checks refuse what that leaves
                return bytes(await self._op.read(key, size=size)) if size else b""
            except odx.NotFound:
                return None

    async def delete(self, key: str) -> None:
        check_key(key)
        with _failures("delete"):
            await self._op.delete(key)  # S3 answers 204 for a missing key too

    async def upload_url(
        self, key: str, content_type: str, byte_size: int, expires_at: dt.datetime
    ) -> tuple[str, dict[str, str]]:
        """A presigned PUT that pins the content type (not the size: see the module doc)."""
        lifetime = _check_upload(key, content_type, byte_size, expires_at)
        with _failures("presign"):
            req = await self._op.presign_write(key, lifetime, content_type=content_type)
        return req.url, dict(req.headers)

    async def download_url(self, key: str, expires_at: dt.datetime) -> str:
        check_key(key)
        lifetime = _lifetime_s(expires_at)
        # a file to save (a hazard export), never shown inline, as the disk route serves it
        disposition = "attachment" if key.endswith(".csv") else None
        with _failures("presign"):
            req = await self._op.presign_read(key, lifetime, content_disposition=disposition)
        return req.url

    async def aclose(self) -> None:
        # lets opendal's runtime threads finish their last wake-up of this loop (module doc)
        await asyncio.sleep(0.02)


class StorageConfigError(ValueError):
    """The storage settings do not describe a usable backend."""


def storage_from_settings(
    kind: str,
    *,
    storage_dir: Path,
    public_url: str,
    url_signing_key: str,
    s3_endpoint: str | None = None,
    s3_bucket: str | None = None,
    s3_access_key: str | None = None,
    s3_secret_key: str | None = None,
    s3_region: str = "us-east-1",
    s3_virtual_host_style: bool = False,
) -> Storage:
    """The backend ANJU_STORAGE names: "disk" (default) or "s3" (which needs every ANJU_S3_*)."""
    if kind == "disk":
        return LocalDiskStorage(storage_dir, public_url, url_signing_key.encode())
    if kind != "s3":
        raise StorageConfigError(f"ANJU_STORAGE must be disk or s3, got {kind!r}")
    if not (s3_endpoint and s3_bucket and s3_access_key and s3_secret_key):
        given = {
            "ANJU_S3_ENDPOINT": s3_endpoint,
            "ANJU_S3_BUCKET": s3_bucket,
            "ANJU_S3_ACCESS_KEY": s3_access_key,
            "ANJU_S3_SECRET_KEY": s3_secret_key,
        }
        missing = [name for name, value in given.items() if not value]
        raise StorageConfigError("ANJU_STORAGE=s3 needs " + ", ".join(missing))
    return S3Storage(
        s3_endpoint, s3_bucket, s3_access_key, s3_secret_key, s3_region,
        virtual_host_style=s3_virtual_host_style,
    )  # fmt: skip
