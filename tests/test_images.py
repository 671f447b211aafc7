"""Checking, cleaning and thumbnailing photos, on images made in the test: a phone-like JPEG
with GPS, XMP, a comment, an ICC profile and a sideways orientation; a text file renamed .jpg;
a PNG declared as JPEG; oversized files; and a PNG header that claims a billion pixels."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from app.images import (
    MAX_PIXELS,
    THUMBNAIL_CONTENT_TYPE,
    ImageInfo,
    ImageRejected,
    Reason,
    clean,
    inspect,
    thumbnail,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)
MB = 1024 * 1024
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _two_halves(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    im = Image.new(mode, size, BLUE if mode == "RGB" else (*BLUE, 255))
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _phone_jpeg(size: tuple[int, int] = (40, 20), orientation: int = 6) -> bytes:
    """What a phone writes: camera, GPS position, orientation, XMP, a comment, a profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (22.0, 32.0, 10.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (113.0, 56.0, 3.25)
    return _encode(
        _two_halves(size),
        "JPEG",
        exif=exif,
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Room 302, Block 7</x:xmpmeta>',
        comment=b"tenant: Zhang San",
        icc_profile=SRGB_ICC,
        quality=95,
    )


def _png_header_claiming(width: int, height: int) -> bytes:
    """A small, valid 1x1 PNG whose IHDR was rewritten to claim width x height."""
    png = bytearray(_encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = 8 + 8  # signature, then the chunk's length and type
    png[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(png[ihdr - 4 : ihdr + 13]))  # type + 13 bytes of data
    png[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(png)


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


def _reason(excinfo: pytest.ExceptionInfo[ImageRejected]) -> Reason:
    return excinfo.value.reason


# -- inspect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_inspect_accepts_jpeg_png_and_webp_and_reads_their_size(
    fmt: str, content_type: str
) -> None:
    data = _encode(_two_halves((64, 48)), fmt)
    assert inspect(data, content_type, MB) == ImageInfo(content_type, 64, 48, len(data))


def test_a_text_file_renamed_jpg_is_not_an_image() -> None:
    text = b"Rent receipt for May\n" * 20
    with pytest.raises(ImageRejected) as excinfo:
        inspect(text, "image/jpeg", MB)
    assert _reason(excinfo) == Reason.NOT_AN_IMAGE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff",  # a JPEG's first three bytes
        _encode(Image.new("RGB", (8, 8)), "GIF"),
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    ],
)
def test_other_files_are_not_images(data: bytes) -> None:
    with pytest.raises(ImageRejected) as excinfo:
        inspect(data, "image/png", MB)
    assert _reason(excinfo) == Reason.NOT_AN_IMAGE


def test_a_truncated_jpeg_is_not_an_image() -> None:
    data = _encode(_two_halves((200, 200)), "JPEG")
    with pytest.raises(ImageRejected) as excinfo:
        inspect(data[: len(data) // 2], "image/jpeg", MB)
    assert _reason(excinfo) == Reason.NOT_AN_IMAGE


def test_a_png_declared_as_jpeg_is_a_type_mismatch() -> None:
    png = _encode(_two_halves((10, 10)), "PNG")
    with pytest.raises(ImageRejected) as excinfo:
        inspect(png, "image/jpeg", MB)
    assert _reason(excinfo) == Reason.TYPE_MISMATCH
    assert "image/png" in excinfo.value.message


@pytest.mark.parametrize("declared", ["image/gif", "image/svg+xml", "IMAGE/PNG", "", "png"])
def test_only_three_declared_types_are_accepted(declared: str) -> None:
    with pytest.raises(ImageRejected) as excinfo:
        inspect(_encode(_two_halves((10, 10)), "PNG"), declared, MB)
    assert _reason(excinfo) == Reason.TYPE_MISMATCH


def test_an_oversized_file_is_too_large() -> None:
    data = _phone_jpeg((400, 300))
    assert inspect(data, "image/jpeg", len(data)).byte_size == len(data)
    with pytest.raises(ImageRejected) as excinfo:
        inspect(data, "image/jpeg", len(data) - 1)
    assert _reason(excinfo) == Reason.TOO_LARGE


@pytest.mark.parametrize(
    ("width", "height"),
    [(30_000, 30_000), (10_000, 10_000), (8_000, 8_000), (1, MAX_PIXELS + 1)],
)
def test_a_header_claiming_too_many_pixels_is_refused_before_decoding(
    width: int, height: int
) -> None:
    # given a file of under 100 bytes that claims width x height pixels
    bomb = _png_header_claiming(width, height)
    assert len(bomb) < 100
    # then nothing decodes it
    for attempt in (
        lambda: inspect(bomb, "image/png", MB),
        lambda: clean(bomb),
        lambda: thumbnail(bomb),
    ):
        with pytest.raises(ImageRejected) as excinfo:
            attempt()
        assert _reason(excinfo) == Reason.TOO_MANY_PIXELS


def test_the_pixel_limit_can_be_lowered() -> None:
    data = _encode(_two_halves((100, 50)), "PNG")
    assert inspect(data, "image/png", MB, max_pixels=5000).width == 100
    with pytest.raises(ImageRejected) as excinfo:
        inspect(data, "image/png", MB, max_pixels=4999)
    assert _reason(excinfo) == Reason.TOO_MANY_PIXELS


# -- clean --------------------------------------------------------------------------------


def test_clean_strips_gps_exif_xmp_comment_and_profile() -> None:
    # given a phone photo whose metadata gives away where it was taken
    photo = _phone_jpeg()
    with Image.open(io.BytesIO(photo)) as original:
        gps = original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert {"exif", "xmp", "comment", "icc_profile"} <= set(original.info)
    # when
    cleaned, info = clean(photo)
    # then none of it is left, in what Pillow reads or anywhere in the bytes
    with Image.open(io.BytesIO(cleaned)) as result:
        assert result.format == "JPEG"
        assert len(result.getexif()) == 0
        assert result.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(result.info)
    for trace in (b"Exif\x00\x00", b"PhoneMaker", b"Room 302", b"xmpmeta", b"Zhang San"):
        assert trace not in cleaned
    assert info == ImageInfo("image/jpeg", 20, 40, len(cleaned))


def test_clean_turns_the_photo_upright_first() -> None:
    # given a landscape-stored photo (red left, blue right) tagged "rotate 90 degrees clockwise"
    photo = _phone_jpeg((40, 20), orientation=6)
    # when
    cleaned, info = clean(photo)
    # then it is portrait, red on top: as the phone showed it
    with Image.open(io.BytesIO(cleaned)) as result:
        assert result.size == (20, 40) == (info.width, info.height)
        assert _near(result.getpixel((10, 5)), RED)
        assert _near(result.getpixel((10, 35)), BLUE)


def test_clean_keeps_a_png_transparent_and_drops_its_text_chunks() -> None:
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "Room 302, Block 7")
    meta.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Room 302</x:xmpmeta>")
    im = _two_halves((30, 30), "RGBA")
    im.putpixel((0, 0), (0, 0, 0, 0))
    png = _encode(im, "PNG", pnginfo=meta, icc_profile=SRGB_ICC)
    cleaned, info = clean(png)
    with Image.open(io.BytesIO(cleaned)) as result:
        assert (result.format, result.mode, result.size) == ("PNG", "RGBA", (30, 30))
        assert result.getpixel((0, 0)) == (0, 0, 0, 0)
        assert not {"Comment", "XML:com.adobe.xmp", "icc_profile"} & set(result.info)
    assert b"Room 302" not in cleaned
    assert info.content_type == "image/png"


def test_clean_keeps_webp_as_webp_without_exif() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    webp = _encode(_two_halves((32, 16)), "WEBP", exif=exif, xmp=b"<x:xmpmeta>Room 302</x:xmpmeta>")
    assert b"PhoneMaker" in webp
    cleaned, info = clean(webp)
    assert (info.content_type, info.width, info.height) == ("image/webp", 32, 16)
    assert b"PhoneMaker" not in cleaned
    assert b"Room 302" not in cleaned


def test_clean_makes_cmyk_and_16_bit_grey_plain_rgb() -> None:
    cmyk = _encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")  # red in CMYK
    cleaned, _ = clean(cmyk)
    with Image.open(io.BytesIO(cleaned)) as result:
        assert result.mode == "RGB"
        assert _near(result.getpixel((8, 8)), RED)
    grey16 = _encode(Image.new("I;16", (16, 16), 32768), "PNG")
    cleaned, _ = clean(grey16)
    with Image.open(io.BytesIO(cleaned)) as result:
        assert _near(result.convert("RGB").getpixel((8, 8)), (128, 128, 128))


def test_clean_survives_a_damaged_exif_block_and_a_garbage_profile() -> None:
    data = _encode(
        _two_halves((16, 16)), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\xff", icc_profile=b"x"
    )
    with pytest.warns(UserWarning, match="Corrupt EXIF"):  # Pillow says so, and goes on
        cleaned, info = clean(data)
    assert (info.width, info.height) == (16, 16)
    assert b"Exif" not in cleaned


def test_clean_refuses_what_is_not_an_image() -> None:
    with pytest.raises(ImageRejected) as excinfo:
        clean(b"GIF89a not really")
    assert _reason(excinfo) == Reason.NOT_AN_IMAGE


# -- thumbnail ----------------------------------------------------------------------------


def test_thumbnail_is_a_small_upright_webp_without_metadata() -> None:
    # given a 2000 x 1000 phone photo stored sideways
    photo = _phone_jpeg((2000, 1000), orientation=6)
    # when
    small = thumbnail(photo, max_side=480)
    # then
    assert THUMBNAIL_CONTENT_TYPE == "image/webp"
    with Image.open(io.BytesIO(small)) as result:
        assert result.format == "WEBP"
        assert result.size == (240, 480)
        assert _near(result.getpixel((120, 20)), RED)
        assert _near(result.getpixel((120, 460)), BLUE)
        assert len(result.getexif()) == 0
    assert len(small) < 20_000 < len(photo)
    assert b"PhoneMaker" not in small


def test_thumbnail_never_enlarges_and_keeps_transparency() -> None:
    im = Image.new("RGBA", (50, 20), (0, 0, 0, 0))
    small = thumbnail(_encode(im, "PNG"), max_side=480)
    with Image.open(io.BytesIO(small)) as result:
        assert result.size == (50, 20)
        assert result.mode == "RGBA"


def test_thumbnail_side_is_bounded() -> None:
    with pytest.raises(ValueError):
        thumbnail(_encode(_two_halves((10, 10)), "PNG"), max_side=8)
