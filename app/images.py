"""Photos as Anju accepts, stores and shows them: pure functions over bytes, with Pillow.

    ImageRejected(reason)   reason is a stable code the API can show as it is:
        NOT_AN_IMAGE        not a JPEG, PNG or WebP that decodes (a renamed text file, a
                            truncated upload, a GIF or an SVG)
        TYPE_MISMATCH       a real image of another type than the one declared, or a declared
                            type other than image/jpeg, image/png or image/webp
        TOO_LARGE           more bytes than the limit
        TOO_MANY_PIXELS     width x height over the limit, read from the header before any
                            pixel is decoded (a 100-byte PNG can claim 30000 x 30000)

`inspect` says whether an upload is acceptable and reads its dimensions. `clean` is what Anju
stores: the same format re-encoded from its pixels only, turned upright first by the EXIF
orientation (phones store portrait photos sideways and rely on that tag). Nothing else of the
file survives: no EXIF (GPS position, camera serial, time), XMP, comments or PNG text. ICC
profiles neither: a phone's Display P3 or a CMYK profile is first applied, converting the
pixels to sRGB, then dropped, since untagged images are shown as sRGB; so colours stay right
and no opaque blob from the uploader (profiles carry free text) reaches other users.
`thumbnail` makes the small WebP of the listing cards (every browser and phone the apps
support decodes WebP, at about two thirds of JPEG's size).

Decoding is CPU work (a 12 MP JPEG on this 2-core machine: inspect 50 ms, clean 170 ms,
thumbnail 60 ms): call these through asyncio.to_thread.
The pixel limit is ours (MAX_PIXELS, checked before decoding); Pillow's own guard
(Image.MAX_IMAGE_PIXELS, about 89 MP to warn and twice that to refuse) is left as it is for
the rest of the process and only matters above our limit.
"""

from __future__ import annotations

import enum
import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Pillow's format names -> the content types Anju accepts; nothing else is even parsed
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# 50 MP: the largest photo a phone's high-resolution mode takes (8160 x 6120); about 200 MB
# decoded as RGBA, which is what bounds memory per upload
MAX_PIXELS = 50_000_000
THUMBNAIL_SIDE = 480
THUMBNAIL_CONTENT_TYPE = "image/webp"
_JPEG_QUALITY = 88
_WEBP_QUALITY = 85
_THUMBNAIL_QUALITY = 75
# what a corrupt file can make Pillow raise while parsing or decoding
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


class Reason(enum.StrEnum):
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    TOO_LARGE = "TOO_LARGE"
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"


class ImageRejected(Exception):
    """An upload that is not an acceptable photo; `reason` is the stable code."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int
    byte_size: int


def inspect(
    data: bytes, declared_type: str, max_bytes: int, *, max_pixels: int = MAX_PIXELS
) -> ImageInfo:
    """Accepts a real JPEG, PNG or WebP of the declared type within both limits, else raises
    ImageRejected. Width and height are those stored in the file (before orientation)."""
    if len(data) > max_bytes:
        raise ImageRejected(Reason.TOO_LARGE, f"The photo is larger than {max_bytes} bytes.")
    if declared_type not in CONTENT_TYPES.values():
        raise ImageRejected(Reason.TYPE_MISMATCH, "Photos must be JPEG, PNG or WebP.")
    with _open(data, max_pixels) as im:
        actual = CONTENT_TYPES[str(im.format)]
        if actual != declared_type:
            raise ImageRejected(Reason.TYPE_MISMATCH, f"The file is {actual}, not {declared_type}.")
        _decode(im)
        return ImageInfo(actual, im.width, im.height, len(data))


def clean(data: bytes, *, max_pixels: int = MAX_PIXELS) -> tuple[bytes, ImageInfo]:
    """The photo upright, in its own format, with no metadata; and what it now is."""
    with _open(data, max_pixels) as im:
        fmt = str(im.format)
        _decode(im)
        upright = _upright(im)
        pixels = _plain(upright, im.info.get("icc_profile"), alpha=fmt != "JPEG")
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=_JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        pixels.save(out, "PNG", compress_level=6)
    else:
        pixels.save(out, "WEBP", quality=_WEBP_QUALITY, method=4)
    body = out.getvalue()
    return body, ImageInfo(CONTENT_TYPES[fmt], pixels.width, pixels.height, len(body))


def thumbnail(
    data: bytes, max_side: int = THUMBNAIL_SIDE, *, max_pixels: int = MAX_PIXELS
) -> bytes:
    """A WebP (THUMBNAIL_CONTENT_TYPE) at most max_side on its longer side, upright, no
    metadata; never enlarged."""
    if not 16 <= max_side <= 4096:
        raise ValueError("max_side must be between 16 and 4096")
    with _open(data, max_pixels) as im:
        if im.format == "JPEG":
            # decode a JPEG at 1/2 to 1/8 scale straight away: far less memory and time
            im.draft("RGB", (max_side, max_side))
        _decode(im)
        small = _upright(im)
        small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        pixels = _plain(small, im.info.get("icc_profile"), alpha=True)
    out = io.BytesIO()
    pixels.save(out, "WEBP", quality=_THUMBNAIL_QUALITY, method=4)
    return out.getvalue()


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Parses only the header (of the three accepted formats) and checks the pixel count."""
    try:
        im = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard: it warns above ~89 MP (an exception where warnings are errors)
        raise ImageRejected(Reason.TOO_MANY_PIXELS, "The photo has too many pixels.") from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise ImageRejected(Reason.NOT_AN_IMAGE, "The file is not a JPEG, PNG or WebP.") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise ImageRejected(Reason.NOT_AN_IMAGE, "The file is not a JPEG, PNG or WebP.")
    if width * height > max_pixels:
        im.close()
        raise ImageRejected(Reason.TOO_MANY_PIXELS, f"The photo has more than {max_pixels} pixels.")
    return im


def _decode(im: Image.Image) -> None:
    """Decodes every pixel, so that a truncated or corrupt file is refused now."""
    try:
        im.load()
    except _DECODE_ERRORS as exc:
        raise ImageRejected(Reason.NOT_AN_IMAGE, "The image data is damaged.") from exc


def _upright(im: Image.Image) -> Image.Image:
    """A copy turned as the EXIF orientation says (a damaged EXIF block is ignored)."""
    try:
        return ImageOps.exif_transpose(im)
    except (*_DECODE_ERRORS, TypeError, KeyError):
        return im.copy()  # the metadata is dropped anyway; the pixels are what they are


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _plain(im: Image.Image, icc: bytes | None, *, alpha: bool) -> Image.Image:
    """sRGB pixels (RGB, or RGBA when there is transparency and `alpha`) and no metadata."""
    transparent = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    target = "RGBA" if alpha and transparent else "RGB"
    if im.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey PNG: scale, do not clip
        im = im.point(lambda v: v / 256).convert("L")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if im.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode=mode)
            if converted is not None:
                im = converted
        except (ImageCms.PyCMSError, *_DECODE_ERRORS):
            pass  # an unusable profile: keep the pixels as they are
    plain = im.convert(target)
    plain.info.clear()  # convert() copies info: EXIF, XMP, ICC, comments
    return plain
