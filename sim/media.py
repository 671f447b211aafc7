"""Camera stills the simulator serves: a real JPEG, and deliberately bad answers that let
Anju's snapshot checks (content type, size, server error) be tested."""

from __future__ import annotations

from functools import cache

# A complete baseline JPEG: one 8-bit grey pixel (value 128), one Huffman code per table.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000"
    "ffdb004300" + "01" * 64 + "ffc0000b080001000101011100"
    "ffc4001400" + "01" + "00" * 15 + "00"
    "ffc4001410" + "01" + "00" * 15 + "00"
    "ffda0008010100003f00" + "3f" + "ffd9"
)

GARBAGE_HTML = b"<!doctype html><html><body>502 Bad Gateway (camera web UI)</body></html>"

HUGE_BYTES = 12 * 1024 * 1024

CAMERA_MODES = frozenset({"ok", "garbage", "huge", "error"})


@cache
def huge_jpeg() -> bytes:
    """A valid JPEG padded after its end marker to about 12 MB, over any sane size limit.
    Built once, on first use, so the 12 MB are only held by a process that asks for it."""
    return TINY_JPEG + b"\x00" * (HUGE_BYTES - len(TINY_JPEG))
