"""The storage backends: the same behaviour on local disk and on S3 (a real versitygw process,
started once per session on a free loopback port), then what only one of them does: signed
routes for the disk, presigned URLs that the S3 server itself enforces."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.clients.storage import (
    InvalidKey,
    LocalDiskStorage,
    ObjectTooLarge,
    S3Storage,
    Storage,
    StorageConfigError,
    StorageError,
    check_key,
    storage_from_settings,
)
from devstack.procs import free_port, stop
from devstack.versitygw import build, start_versitygw

SIGNING_KEY = b"test-only-url-signing-key"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-" + secrets.token_hex(8)
BUCKET = "anju-photos"
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg, storage does not care \xff\xd9"


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    try:
        build()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"versitygw could not be built (tools/versitygw): {exc}")
    workdir = Path(tempfile.mkdtemp(prefix="anju-s3-"))
    port = free_port()
    proc = start_versitygw(
        port, workdir / "data", workdir / "versitygw.log", ACCESS_KEY, SECRET_KEY, buckets=[BUCKET]
    )
    try:
        yield S3Server(f"http://127.0.0.1:{port}", proc)
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _s3(server: S3Server) -> S3Storage:
    return S3Storage(server.endpoint, BUCKET, ACCESS_KEY, SECRET_KEY, "us-east-1")


@pytest.fixture(params=["disk", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    backend: Storage
    if request.param == "disk":
        backend = LocalDiskStorage(tmp_path / "files", "http://127.0.0.1:8000", SIGNING_KEY)
    else:
        backend = _s3(request.getfixturevalue("s3_server"))
    yield backend
    await backend.aclose()


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own: the S3 bucket is shared by the whole session."""
    return f"t{secrets.token_hex(6)}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def _in(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


# -- both backends ------------------------------------------------------------------------


async def test_put_get_delete_round_trip(storage: Storage, prefix: str) -> None:
    # given
    key = f"{prefix}/rooms/r1/photo-1.jpg"
    # when
    await storage.put(key, JPEG, "image/jpeg")
    # then
    assert await storage.get(key) == JPEG
    await storage.put(key, b"replaced", "image/jpeg")
    assert await storage.get(key) == b"replaced"
    await storage.delete(key)
    assert await storage.get(key) is None


async def test_missing_key_reads_as_none(storage: Storage, prefix: str) -> None:
    assert await storage.get(f"{prefix}/never-written.png") is None
    assert await storage.get(f"{prefix}/never-written.png", max_bytes=10) is None


async def test_get_with_max_bytes_refuses_a_larger_object(storage: Storage, prefix: str) -> None:
    # given
    key = f"{prefix}/big.jpg"
    await storage.put(key, JPEG, "image/jpeg")
    await storage.put(f"{prefix}/empty.jpg", b"", "image/jpeg")
    # then
    assert await storage.get(key, max_bytes=len(JPEG)) == JPEG
    with pytest.raises(ObjectTooLarge):
        await storage.get(key, max_bytes=len(JPEG) - 1)
    assert await storage.get(f"{prefix}/empty.jpg", max_bytes=10) == b""


async def test_delete_is_idempotent(storage: Storage, prefix: str) -> None:
    key = f"{prefix}/gone.webp"
    await storage.delete(key)
    await storage.put(key, b"x", "image/webp")
    await storage.delete(key)
    await storage.delete(key)
    assert await storage.get(key) is None


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../up.jpg", "a/../../up.jpg", "a/./b.jpg", "a//b.jpg", "a/b/",
     ".hidden", "a/.tmp", "sp ace.jpg", "ünï.jpg", "a\\b.jpg", "a\nb", "x" * 257],
)  # fmt: skip
async def test_keys_that_could_escape_or_confuse_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    with pytest.raises(InvalidKey):
        await storage.upload_url(key, "image/jpeg", 1, _in(60))
    with pytest.raises(InvalidKey):
        await storage.download_url(key, _in(60))


def test_plain_keys_are_accepted() -> None:
    for key in ("a.jpg", "rooms/64f0c0ffee/1-abc_DEF.webp", "x" * 256):
        assert check_key(key) == key


async def test_urls_refuse_a_past_or_naive_expiry_and_odd_content_types(
    storage: Storage, prefix: str
) -> None:
    key = f"{prefix}/p.jpg"
    with pytest.raises(ValueError):
        await storage.upload_url(key, "image/jpeg", 10, _in(-1))
    with pytest.raises(ValueError):
        await storage.download_url(key, dt.datetime.now() + dt.timedelta(minutes=1))
    with pytest.raises(ValueError):
        await storage.upload_url(key, "image/jpeg", 10, _in(8 * 24 * 3600))
    with pytest.raises(ValueError):
        await storage.upload_url(key, "image/jpeg\r\nX-Evil: 1", 10, _in(60))
    with pytest.raises(ValueError):
        await storage.upload_url(key, "image/jpeg", 0, _in(60))


# -- local disk: Anju's own signed routes ------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> LocalDiskStorage:
    return LocalDiskStorage(tmp_path / "files", "https://anju.example/", SIGNING_KEY)


def _query(url: str) -> tuple[str, str, str]:
    parsed = httpx.URL(url)
    return parsed.path, parsed.params["exp"], parsed.params["sig"]


async def test_disk_upload_url_is_signed_for_key_type_size_and_time(
    disk: LocalDiskStorage,
) -> None:
    # given
    expires = _in(120)
    url, headers = await disk.upload_url("rooms/r1/a.jpg", "image/jpeg", 1234, expires)
    path, exp, sig = _query(url)
    # then
    assert url.startswith("https://anju.example/uploads/rooms/r1/a.jpg?exp=")
    assert path == "/uploads/rooms/r1/a.jpg"
    assert headers == {"Content-Type": "image/jpeg"}
    assert exp == str(int(expires.timestamp()))
    assert disk.verify_upload("rooms/r1/a.jpg", exp, sig, "image/jpeg", 1234)
    # a changed key, type, size, signature or expiry breaks it
    assert not disk.verify_upload("rooms/r1/b.jpg", exp, sig, "image/jpeg", 1234)
    assert not disk.verify_upload("rooms/r1/a.jpg", exp, sig, "image/png", 1234)
    assert not disk.verify_upload("rooms/r1/a.jpg", exp, sig, "image/jpeg", 1235)
    assert not disk.verify_upload("rooms/r1/a.jpg", str(int(exp) + 1), sig, "image/jpeg", 1234)
    tampered = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert not disk.verify_upload("rooms/r1/a.jpg", exp, tampered, "image/jpeg", 1234)
    # nor does an upload signature open the download route, or the other way round
    assert not disk.verify_download("rooms/r1/a.jpg", exp, sig)


async def test_disk_urls_expire(disk: LocalDiskStorage) -> None:
    url, _ = await disk.upload_url("a.png", "image/png", 10, _in(60))
    _, exp, sig = _query(url)
    assert disk.verify_upload("a.png", exp, sig, "image/png", 10, now=int(exp) - 1)
    assert not disk.verify_upload("a.png", exp, sig, "image/png", 10, now=int(exp))
    download = await disk.download_url("a.png", _in(60))
    _, exp, sig = _query(download)
    assert disk.verify_download("a.png", exp, sig, now=int(exp) - 1)
    assert not disk.verify_download("a.png", exp, sig, now=int(exp) + 1)


async def test_disk_download_url(disk: LocalDiskStorage) -> None:
    url = await disk.download_url("rooms/r1/a.jpg", _in(300))
    path, exp, sig = _query(url)
    assert path == "/files/rooms/r1/a.jpg"
    assert disk.verify_download("rooms/r1/a.jpg", exp, sig)
    assert not disk.verify_download("rooms/r1/b.jpg", exp, sig)


@pytest.mark.parametrize(
    ("exp", "sig"),
    [("", "0" * 64), ("-1", "0" * 64), ("1e9", "0" * 64), ("9" * 13, "0" * 64),
     ("١٢٣", "0" * 64), ("100", ""), ("100", "é" * 64)],
)  # fmt: skip
def test_disk_verify_refuses_malformed_parameters(
    disk: LocalDiskStorage, exp: str, sig: str
) -> None:
    assert not disk.verify_download("a.jpg", exp, sig)
    assert not disk.verify_upload("a.jpg", exp, sig, "image/jpeg", 1)
    assert not disk.verify_download("../a.jpg", exp, sig)


async def test_disk_signatures_depend_on_the_signing_key(tmp_path: Path) -> None:
    a = LocalDiskStorage(tmp_path, "http://x", SIGNING_KEY)
    b = LocalDiskStorage(tmp_path, "http://x", SIGNING_KEY + b"2")
    url = await a.download_url("k.jpg", _in(60))
    _, exp, sig = _query(url)
    assert a.verify_download("k.jpg", exp, sig)
    assert not b.verify_download("k.jpg", exp, sig)
    with pytest.raises(ValueError):
        LocalDiskStorage(tmp_path, "http://x", b"short")


async def test_disk_files_stay_under_the_root_and_leave_no_temporary_files(
    disk: LocalDiskStorage,
) -> None:
    await disk.put("rooms/r1/a.jpg", JPEG, "image/jpeg")
    files = [p for p in disk.root.rglob("*") if p.is_file()]
    assert files == [disk.root / "rooms" / "r1" / "a.jpg"]


async def test_disk_key_colliding_with_a_directory_is_a_storage_error(
    disk: LocalDiskStorage,
) -> None:
    await disk.put("rooms/r1/a.jpg", JPEG, "image/jpeg")
    with pytest.raises(StorageError):
        await disk.put("rooms/r1", JPEG, "image/jpeg")
    assert await disk.get("rooms/r1") is None
    await disk.delete("rooms/r1")
    assert await disk.get("rooms/r1/a.jpg") == JPEG


# -- S3: presigned URLs, enforced by the server ------------------------------------------


async def test_s3_presigned_put_then_get_and_download(
    s3_server: S3Server, prefix: str, http: httpx.AsyncClient
) -> None:
    # given
    storage = _s3(s3_server)
    key = f"{prefix}/rooms/r1/a.jpg"
    url, headers = await storage.upload_url(key, "image/jpeg", len(JPEG), _in(60))
    # when the client PUTs with the headers it was given
    response = await http.put(url, content=JPEG, headers=headers)
    # then
    assert response.status_code == 200, response.text
    assert await storage.get(key) == JPEG
    download = await http.get(await storage.download_url(key, _in(60)))
    assert download.status_code == 200
    assert download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg"
    await storage.aclose()


async def test_s3_presigned_put_refuses_another_content_type(
    s3_server: S3Server, prefix: str, http: httpx.AsyncClient
) -> None:
    storage = _s3(s3_server)
    key = f"{prefix}/a.jpg"
    url, headers = await storage.upload_url(key, "image/jpeg", len(JPEG), _in(60))
    assert headers == {"content-type": "image/jpeg"}  # signed into the URL
    html = await http.put(url, content=b"<script>", headers={"Content-Type": "text/html"})
    bare = await http.put(url, content=JPEG)
    assert html.status_code == 403
    assert bare.status_code == 403
    assert await storage.get(key) is None
    await storage.aclose()


async def test_s3_presigned_urls_expire(
    s3_server: S3Server, prefix: str, http: httpx.AsyncClient
) -> None:
    # given a stored object and URLs that live one second
    storage = _s3(s3_server)
    key = f"{prefix}/a.jpg"
    await storage.put(key, JPEG, "image/jpeg")
    url, headers = await storage.upload_url(key, "image/jpeg", 3, _in(1))
    download = await storage.download_url(key, _in(1))
    # when they have expired
    await asyncio.sleep(2.1)
    # then the server refuses both
    put = await http.put(url, content=b"new", headers=headers)
    get = await http.get(download)
    assert put.status_code == 403
    assert get.status_code == 403
    assert await storage.get(key) == JPEG
    await storage.aclose()


async def test_s3_presigned_put_does_not_pin_the_size_so_get_bounds_it(
    s3_server: S3Server, prefix: str, http: httpx.AsyncClient
) -> None:
    """What opendal cannot do (the module doc), and the guard Anju reads uploads with."""
    # given an upload URL for 3 bytes
    storage = _s3(s3_server)
    key = f"{prefix}/a.jpg"
    url, headers = await storage.upload_url(key, "image/jpeg", 3, _in(60))
    # when the client sends more
    response = await http.put(url, content=JPEG, headers=headers)
    # then S3 takes it, and reading it back within the declared size refuses it
    assert response.status_code == 200
    with pytest.raises(ObjectTooLarge):
        await storage.get(key, max_bytes=3)
    await storage.aclose()


async def test_s3_wrong_credentials_and_unreachable_server_are_storage_errors(
    s3_server: S3Server,
) -> None:
    wrong = S3Storage(s3_server.endpoint, BUCKET, ACCESS_KEY, "not-the-secret", "us-east-1")
    with pytest.raises(StorageError):
        await wrong.get("a.jpg")
    down = S3Storage(
        f"http://127.0.0.1:{free_port()}", BUCKET, ACCESS_KEY, SECRET_KEY, "us-east-1",
        timeout_s=1, io_timeout_s=1,
    )  # fmt: skip
    with pytest.raises(StorageError):
        await down.put("a.jpg", b"x", "image/jpeg")
    await wrong.aclose()
    await down.aclose()


# -- choosing the backend ----------------------------------------------------------------


def test_storage_from_settings(tmp_path: Path) -> None:
    disk = storage_from_settings(
        "disk", storage_dir=tmp_path, public_url="http://x", url_signing_key="k" * 32
    )
    assert isinstance(disk, LocalDiskStorage)
    s3 = storage_from_settings(
        "s3",
        storage_dir=tmp_path,
        public_url="http://x",
        url_signing_key="k" * 32,
        s3_endpoint="http://127.0.0.1:9000",
        s3_bucket="b",
        s3_access_key="a",
        s3_secret_key="s",
    )
    assert isinstance(s3, S3Storage)
    with pytest.raises(StorageConfigError, match="ANJU_S3_BUCKET, ANJU_S3_SECRET_KEY"):
        storage_from_settings(
            "s3",
            storage_dir=tmp_path,
            public_url="http://x",
            url_signing_key="k" * 32,
            s3_endpoint="http://x",
            s3_access_key="a",
        )
    with pytest.raises(StorageConfigError, match="disk or s3"):
        storage_from_settings(
            "gcs", storage_dir=tmp_path, public_url="http://x", url_signing_key="k" * 32
        )
