"""The management-station kiosk (/kiosk) in headless Chromium, driven over the DevTools
Protocol: it cycles through a community's listings newest first, filters by rent and size on
a tap, pauses and returns to cycling when left alone, keeps its last listings while /graphql is
unreachable (also across a reload), and shows a QR code that decodes to the landlord's phone.

Chromium comes from Debian's package (`make browser`); without it these tests skip.
Screenshots go to .artifacts/kiosk/ (ignored by git)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack import browser
from tests.support import Api, Caller

CHROMIUM = browser.find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=browser.missing_message())

ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts" / "kiosk"
TOWN, COMMUNITY = "松门镇", "松门村"

CREATE_PROPERTY = """mutation($input: CreatePropertyInput!) { createProperty(input: $input) {
  property { id } userErrors { field message code } } }"""
ADD_ROOM = """mutation($input: AddRoomInput!) { addRoom(input: $input) {
  room { id } userErrors { field message code } } }"""
PUBLISH = """mutation($input: PublishListingInput!) { publishListing(input: $input) {
  listing { id contactPhone } userErrors { field message code } } }"""
SEARCH = """query($filter: ListingFilter) { listings(filter: $filter, sort: NEWEST, first: 100) {
  edges { node { id monthlyRentFen areaSqm contactPhone } } } }"""

# (room number, rent in fen, area in m²): one in each rent band, two in 1000-2000 yuan
ROOMS = [
    ("101", 80000, 15.0),
    ("102", 150000, 25.0),
    ("201", 180000, 45.0),
    ("202", 250000, 32.0),
    ("301", 350000, 70.0),
]


# --- given: a landlord with published listings ---------------------------------------------


def publish_rooms(
    landlord: Caller, rooms: list[tuple[str, int, float]], community: str = COMMUNITY
) -> None:
    prop = landlord.mutate(
        "createProperty",
        CREATE_PROPERTY,
        {
            "input": {
                "name": "东海公寓",
                "address": f"温岭市{TOWN}东海路 18 号",
                "place": {"town": TOWN, "community": community, "grid": "网格3"},
                "location": {"lat": 28.35, "lng": 121.61},
                "kind": "APARTMENT_BUILDING",
                "safety": {"extinguishers": 4, "smokeDetectors": 6, "escapeWindows": 2},
            }
        },
    )["property"]
    today = dt.datetime.now(dt.UTC).date()
    for i, (number, rent, area) in enumerate(rooms):
        room = landlord.mutate(
            "addRoom",
            ADD_ROOM,
            {
                "input": {
                    "propertyId": prop["id"],
                    "number": number,
                    "floor": int(number[0]),
                    "areaSqm": area,
                    "monthlyRentFen": rent,
                }
            },
        )["room"]
        landlord.mutate(
            "publishListing",
            PUBLISH,
            {
                "input": {
                    "roomId": room["id"],
                    "title": f"{number} 室 朝南单间 拎包入住",
                    "description": "近公交站 押一付三",
                    "availableFrom": (today + dt.timedelta(days=20 * i)).isoformat(),
                }
            },
        )


def newest_first(api: Api, community: str = COMMUNITY) -> list[dict[str, Any]]:
    data = api.anonymous().data(SEARCH, {"filter": {"town": TOWN, "community": community}})
    return [edge["node"] for edge in data["listings"]["edges"]]


@pytest.fixture
def landlord(api: Api) -> Caller:
    return api.sign_up("LANDLORD", name="王建国")


@pytest.fixture
def page() -> Iterator[browser.Page]:
    assert CHROMIUM is not None
    with browser.chromium(CHROMIUM) as page:
        yield page


def kiosk_url(base: str, **params: str | int) -> str:
    return str(httpx.URL(f"{base}/kiosk", params={"community": COMMUNITY, **params}))


def body(page: browser.Page, name: str) -> Any:
    return page.evaluate(f"document.body.dataset.{name}")


def shown(page: browser.Page) -> tuple[int, str]:
    """(position in the cycle, listing id) as the page shows them."""
    counter, listing_id = page.evaluate(
        "[document.getElementById('counter').textContent,"
        " document.getElementById('card').dataset.listingId]"
    )
    return int(counter.split("/")[0]), listing_id


def watch_cycle(page: browser.Page, expected: list[str]) -> None:
    """Watches the cycle until every expected listing has been shown, each at its position
    in `expected` (newest first), and nothing else."""
    seen: set[str] = set()
    while seen != set(expected):
        page.wait_for(
            "document.body.dataset.state === 'cycling' && "
            f"!{json.dumps(sorted(seen))}.includes(document.getElementById('card')"
            ".dataset.listingId)",
            timeout=60,
        )
        position, listing_id = shown(page)
        assert listing_id in expected, f"{listing_id} shown, expected only {expected}"
        assert expected[position - 1] == listing_id, "the cycle is not newest first"
        seen.add(listing_id)


# --- the page and its headers --------------------------------------------------------------


def test_kiosk_is_served_with_a_strict_policy(api: Api, http: httpx.Client) -> None:
    # when
    page = http.get(f"{api.base_url}/kiosk", params={"community": COMMUNITY})
    script = http.get(f"{api.base_url}/kiosk/assets/kiosk.js")
    worker = http.get(f"{api.base_url}/kiosk/sw.js")
    # then
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for response in (page, script, worker):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"
    assert script.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/kiosk"
    # nothing inline, nothing from elsewhere
    assert "<script>" not in page.text and "style=" not in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert http.get(f"{api.base_url}/kiosk/assets/missing.js").status_code == 404
    assert http.get(f"{api.base_url}/kiosk/assets/../__init__.py").status_code == 404


# --- cycling, filters, pause, idle, screenshots ----------------------------------------------


def test_kiosk_cycles_filters_and_pauses(api: Api, landlord: Caller, page: browser.Page) -> None:
    # given: five listings in the community, one in another
    publish_rooms(landlord, ROOMS)
    publish_rooms(landlord, [("501", 150000, 20.0)], community="桃源村")
    listings = newest_first(api)
    ids = [listing["id"] for listing in listings]
    assert len(ids) == len(ROOMS)
    page.set_viewport(1080, 1920)

    # when the kiosk opens, it shows the newest first, then cycles through all of them
    page.navigate(kiosk_url(api.base_url, town=TOWN, cycle=2, idle=600))
    page.wait_for("document.body.dataset.total === '5'")
    assert shown(page) == (1, ids[0])
    watch_cycle(page, ids)

    # when a rent band is tapped, only matching listings cycle
    page.tap('#rent-bands [data-band="1000-2000"]')
    matching = [x["id"] for x in listings if 100000 <= x["monthlyRentFen"] < 200000]
    assert len(matching) == 2
    page.wait_for(f"document.body.dataset.count === '{len(matching)}'")
    assert (
        page.evaluate(
            "document.querySelector('#rent-bands [data-band=\"1000-2000\"]')"
            ".getAttribute('aria-pressed')"
        )
        == "true"
    )
    watch_cycle(page, matching)

    # and a size band narrows it further
    page.tap('#size-bands [data-band="20-40"]')
    page.wait_for("document.body.dataset.count === '1'")
    only = [x["id"] for x in listings if x["monthlyRentFen"] == 150000]
    assert shown(page) == (1, only[0])

    # when the listing is tapped, it pauses on it
    page.tap('#size-bands [data-band="all"]')
    page.wait_for("document.body.dataset.count === '2'")
    page.tap("#card")
    page.wait_for("document.body.dataset.state === 'paused'")
    paused_on = shown(page)
    assert page.evaluate("!document.getElementById('paused-badge').hidden")
    page.pump(5)  # longer than two cycles
    assert shown(page) == paused_on
    # and a second tap resumes
    page.tap("#card")
    page.wait_for("document.body.dataset.state === 'cycling'")

    # when left alone (idle=3 here, a minute by default) it returns to cycling all listings
    page.navigate(kiosk_url(api.base_url, town=TOWN, cycle=2, idle=3))
    page.wait_for("document.body.dataset.total === '5'")
    page.tap('#rent-bands [data-band="gt3000"]')
    page.wait_for("document.body.dataset.count === '1'")
    page.tap("#next")
    page.wait_for("document.body.dataset.state === 'paused'")
    page.wait_for(
        "document.body.dataset.state === 'cycling' && document.body.dataset.count === '5'",
        timeout=30,
    )

    # then the screenshots, portrait and landscape, with the QR code readable in both
    page.navigate(kiosk_url(api.base_url, town=TOWN, cycle=600))
    page.wait_for("document.body.dataset.total === '5' && document.fonts.status === 'loaded'")
    for name, (width, height) in {"portrait": (1080, 1920), "landscape": (1920, 1080)}.items():
        page.set_viewport(width, height)
        page.pump(1)  # let the entrance animation finish
        # everything fits: no scrolling, nothing spilling out of the listing card
        assert page.evaluate("document.body.scrollHeight <= window.innerHeight")
        assert page.evaluate(
            "(() => { const c = document.getElementById('card');"
            " return c.scrollHeight <= c.clientHeight && c.scrollWidth <= c.clientWidth; })()"
        ), name
        page.screenshot(ARTIFACTS / f"kiosk-{name}.png")
        assert_qr_decodes(page, listings[0]["contactPhone"])
    assert page.console_errors == []


# --- offline ---------------------------------------------------------------------------------


def test_kiosk_keeps_its_listings_offline(api: Api, landlord: Caller, page: browser.Page) -> None:
    # given: a kiosk showing three listings, refreshing every second, its service worker ready
    publish_rooms(landlord, ROOMS[:3])
    page.navigate(kiosk_url(api.base_url, cycle=600, refresh=1))
    page.wait_for("document.body.dataset.total === '3'")
    page.wait_for("navigator.serviceWorker.ready.then(r => !!r.active)")
    assert body(page, "online") == "true"
    showing = shown(page)

    # when /graphql fails (the API refuses the request)
    def refuse(event: dict[str, Any]) -> None:
        page.post("Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "Failed"})

    page.on("Fetch.requestPaused", refuse)
    page.send("Fetch.enable", {"patterns": [{"urlPattern": "*/graphql*"}]})
    # then it says so discreetly and keeps showing the same listings
    page.wait_for("document.body.dataset.online === 'false'")
    status = page.evaluate("document.getElementById('status').textContent")
    assert "offline" in status and "last updated" in status
    assert body(page, "total") == "3" and shown(page) == showing
    page.send("Fetch.disable")
    page.on("Fetch.requestPaused", None)
    page.wait_for("document.body.dataset.online === 'true'")

    # when the whole network is down and the kiosk reloads (a power cut, a reboot)
    page.send("Network.enable")
    page.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.wait_for("document.body.dataset.online === 'false'")
    page.reload()
    # then the page comes from the service worker and the listings from localStorage
    assert page.evaluate("location.pathname") == "/kiosk"
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    page.wait_for("document.body.dataset.online === 'false'")
    assert body(page, "total") == "3" and body(page, "state") == "cycling"
    assert "offline" in page.evaluate("document.getElementById('status').textContent")
    page.set_viewport(1920, 1080)
    page.pump(1)  # let the entrance animation finish
    page.screenshot(ARTIFACTS / "kiosk-offline.png")

    # when the network is back, the next refresh clears the notice
    page.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.wait_for("document.body.dataset.online === 'true'")
    assert "offline" not in page.evaluate("document.getElementById('status').textContent")


def test_kiosk_without_a_community_says_how_to_set_it_up(api: Api, page: browser.Page) -> None:
    # when
    page.navigate(f"{api.base_url}/kiosk")
    # then
    page.wait_for("document.body.dataset.state === 'setup'")
    assert "community" in page.evaluate("document.getElementById('message').textContent")
    assert page.console_errors == []


# --- the QR encoder --------------------------------------------------------------------------

# Reference symbols from Nayuki's QR Code generator (the `qrcodegen` package, byte mode, no
# error-correction boost, mask chosen by the penalty rules): text, level, version, mask and the
# start of the SHA-256 of the module rows written as "0"/"1" lines.
REFERENCE_SYMBOLS = [
    ("tel:13900000001", "M", 2, 2, "76f90b96d967398b"),
    ("tel:+8613912345678", "M", 2, 2, "26c1599ed88eecbf"),
    ("安居 Anju kiosk: 松门村", "M", 3, 2, "8d7b6867558c57a9"),
    ("https://anju.example/kiosk?community=" + "x" * 25, "M", 4, 2, "1683dab6fd28e415"),
    ("L" * 78, "L", 4, 6, "9a35177d468c9371"),
    ("A", "L", 1, 0, "f195dbbdf146dae0"),
]


def test_qr_encoder_matches_reference_symbols(api: Api, page: browser.Page) -> None:
    page.navigate(f"{api.base_url}/kiosk")
    page.wait_for("window.AnjuQR !== undefined")
    for text, level, version, mask, digest in REFERENCE_SYMBOLS:
        # when
        qr = page.evaluate(
            f"(() => {{ const q = AnjuQR.encode({json.dumps(text)}, {{level: '{level}'}});"
            " return {version: q.version, mask: q.mask,"
            " rows: q.modules.map(r => r.map(b => b ? '1' : '0').join(''))}; })()"
        )
        # then: the same symbol, and one that reads back to the text
        assert (qr["version"], qr["mask"]) == (version, mask), text
        rows = "\n".join(qr["rows"]).encode()
        assert hashlib.sha256(rows).hexdigest().startswith(digest), text
        matrix = [[c == "1" for c in row] for row in qr["rows"]]
        assert read_qr(matrix) == text
    # too long for version 4 is an error, not a wrong symbol
    assert page.evaluate(
        "(() => { try { AnjuQR.encode('x'.repeat(63)); return false; }"
        " catch (e) { return true; } })()"
    )


def assert_qr_decodes(page: browser.Page, phone: str) -> None:
    """Screenshots the shown QR code, samples its modules and decodes them."""
    box = page.evaluate(
        "(() => { const s = document.querySelector('#qr svg'); const r = s.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height,"
        " border: +s.dataset.border, side: s.viewBox.baseVal.width}; })()"
    )
    assert box["width"] >= 300, "the QR code should be large enough to scan from a step away"
    png = page.screenshot(
        clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}
    )
    width, height, pixels = decode_png(png)
    module = width / box["side"]
    size = int(box["side"]) - 2 * box["border"]

    def dark(x: int, y: int) -> bool:
        px = int((x + box["border"] + 0.5) * module)
        py = int((y + box["border"] + 0.5) * height / box["side"])
        return pixels[py][px] < 128

    # the quiet zone is light
    assert not any(dark(x, -1) or dark(-1, x) for x in range(-1, size))
    matrix = [[dark(x, y) for x in range(size)] for y in range(size)]
    assert read_qr(matrix) == f"tel:{phone}"


# --- a small PNG reader and QR reader, for the assertions above ----------------------------


def decode_png(data: bytes) -> tuple[int, int, list[list[int]]]:
    """Width, height and grey rows (0-255) of an 8-bit RGB/RGBA non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind_byte, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind_byte == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind_byte == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind_byte == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind_byte == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        previous = line
    grey = [[sum(row[x * channels : x * channels + 3]) // 3 for x in range(width)] for row in rows]
    return width, height, grey


_MASKS = [
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: (x * y) % 2 + (x * y) % 3 == 0,
    lambda x, y: ((x * y) % 2 + (x * y) % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + (x * y) % 3) % 2 == 0,
]
# (error correction codewords per block, blocks, data codewords per block) by level, version
_BLOCKS = {
    "L": {1: (7, 1, 19), 2: (10, 1, 34), 3: (15, 1, 55), 4: (20, 1, 80)},
    "M": {1: (10, 1, 16), 2: (16, 1, 28), 3: (26, 1, 44), 4: (18, 2, 32)},
}


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 512, [0] * 256
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


_EXP, _LOG = _gf_tables()


def _syndromes_zero(block: list[int], ec: int) -> bool:
    """A Reed-Solomon block is a codeword iff it evaluates to 0 at a^0 .. a^(ec-1)."""
    for i in range(ec):
        value = 0
        for coefficient in block:
            value = (_EXP[_LOG[value] + i] if value else 0) ^ coefficient
        if value:
            return False
    return True


def read_qr(matrix: list[list[bool]]) -> str:
    """Decodes a version 1-4 QR symbol without correcting errors: format information (both
    copies must agree), unmasking, the zigzag read-out, de-interleaving, a Reed-Solomon check
    of every block, then the byte-mode segment."""
    size = len(matrix)
    version = (size - 17) // 4
    assert 1 <= version <= 4 and size == 17 + 4 * version
    bit = lambda x, y: int(matrix[y][x])  # noqa: E731
    first = sum(bit(8, i) << i for i in range(6)) | bit(8, 7) << 6 | bit(8, 8) << 7
    first |= bit(7, 8) << 8 | sum(bit(14 - i, 8) << i for i in range(9, 15))
    second = sum(bit(size - 1 - i, 8) << i for i in range(8))
    second |= sum(bit(8, size - 15 + i) << i for i in range(8, 15))
    assert first == second, "the two copies of the format information differ"
    fmt = first ^ 0x5412
    level = {1: "L", 0: "M"}[fmt >> 13]
    mask = _MASKS[(fmt >> 10) & 7]
    ec, blocks, per_block = _BLOCKS[level][version]

    fixed = [[False] * size for _ in range(size)]
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finders and separators
        for y in range(max(0, cy - 4), min(size, cy + 5)):
            for x in range(max(0, cx - 4), min(size, cx + 5)):
                fixed[y][x] = True
    for i in range(size):  # timing
        fixed[6][i] = fixed[i][6] = True
    if version >= 2:  # the one alignment pattern
        for y in range(size - 9, size - 4):
            for x in range(size - 9, size - 4):
                fixed[y][x] = True
    for i in range(9):  # format information
        fixed[8][i] = fixed[i][8] = True
    for i in range(8):
        fixed[8][size - 1 - i] = fixed[size - 1 - i][8] = True

    bits: list[int] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = (right + 1) & 2 == 0
        for v in range(size):
            y = size - 1 - v if upward else v
            for x in (right, right - 1):
                if not fixed[y][x]:
                    bits.append(bit(x, y) ^ int(mask(x, y)))
        right -= 2
    words = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits) - 7, 8)]

    data_words: list[int] = []
    for b in range(blocks):
        block_data = [words[i * blocks + b] for i in range(per_block)]
        block_ec = [words[blocks * per_block + i * blocks + b] for i in range(ec)]
        assert _syndromes_zero(block_data + block_ec, ec), "Reed-Solomon check failed"
        data_words.extend(block_data)
    stream = "".join(f"{w:08b}" for w in data_words)
    assert stream[:4] == "0100", "expected a byte-mode segment"
    count = int(stream[4:12], 2)
    payload = bytes(int(stream[12 + 8 * i : 20 + 8 * i], 2) for i in range(count))
    assert stream[12 + 8 * count : 16 + 8 * count] in ("0000", "000", "00", "0", "")
    return payload.decode("utf-8")
