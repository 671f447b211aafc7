"""The kiosk's photos in headless Chromium: the first photo's thumbnail on each card (none
on a listing without photos), every photo on the room's page (lazy-loaded, in order), and the
photos already shown still there after a reload with the network down.

Chromium comes from Debian's package (`make browser`); without it these tests skip.
Screenshots go to .artifacts/kiosk/ (ignored by git)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import browser
from tests.photo_support import add_photo, photo
from tests.support import Api, Caller
from tests.test_kiosk import (
    ARTIFACTS,
    COMMUNITY,
    TOWN,
    assert_qr_decodes,
    kiosk_url,
    newest_first,
    publish_rooms,
)

CHROMIUM = browser.find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=browser.missing_message())

ROOMS_OF_LISTINGS = """query($filter: ListingFilter) { listings(filter: $filter, first: 10) {
  edges { node { id room { id } photos { id url thumbnailUrl } } } } }"""
COVER_LOADED = (
    "(() => { const i = document.getElementById('cover-img');"
    " return !document.getElementById('cover').hidden && i.complete && i.naturalWidth > 0; })()"
)


@pytest.fixture
def page() -> Iterator[browser.Page]:
    assert CHROMIUM is not None
    with browser.chromium(CHROMIUM) as page:
        yield page


def with_photos(api: Api, landlord: Caller) -> list[dict[str, Any]]:
    """Two listings: the newest with three photos, the other with none; newest first."""
    publish_rooms(landlord, [("101", 80000, 15.0), ("102", 150000, 25.0)])
    listings = landlord.data(ROOMS_OF_LISTINGS, {"filter": {"community": COMMUNITY}})
    newest = listings["listings"]["edges"][0]["node"]
    colours = [(220, 60, 60), (60, 160, 60), (60, 60, 220)]
    for colour in colours:
        add_photo(landlord, newest["room"]["id"], photo((800, 600), colour))
    found = api.anonymous().data(ROOMS_OF_LISTINGS, {"filter": {"community": COMMUNITY}})
    return [e["node"] for e in found["listings"]["edges"]]


def shown_listing(page: browser.Page) -> str:
    return str(page.evaluate("document.getElementById('card').dataset.listingId"))


def test_the_card_shows_the_first_photo_and_the_room_page_all_of_them(
    api: Api, page: browser.Page
) -> None:
    # given a listing with three photos and one without
    landlord = api.sign_up("LANDLORD", name="王建国")
    listings = with_photos(api, landlord)
    with_three, without = listings
    assert len(with_three["photos"]) == 3 and without["photos"] == []
    page.set_viewport(1080, 1920)
    # when the kiosk shows the first
    page.navigate(kiosk_url(api.base_url, town=TOWN, cycle=600, idle=600))
    page.wait_for("document.body.dataset.total === '2'")
    assert shown_listing(page) == with_three["id"]
    # then its card has the first photo's thumbnail, loaded
    page.wait_for(COVER_LOADED)
    src = page.evaluate("document.getElementById('cover-img').getAttribute('src')")
    assert src == with_three["photos"][0]["thumbnailUrl"]
    assert "3" in page.evaluate("document.getElementById('cover-count').textContent")
    page.pump(1)  # let the entrance animation finish
    assert page.evaluate(
        "(() => { const c = document.getElementById('card');"
        " return c.scrollHeight <= c.clientHeight && c.scrollWidth <= c.clientWidth; })()"
    )
    assert page.evaluate("document.body.scrollHeight <= window.innerHeight")
    page.screenshot(ARTIFACTS / "kiosk-photo-portrait.png")
    assert_qr_decodes(page, newest_first(api)[0]["contactPhone"])

    # when the photo is tapped, the room's page opens with every photo, in order, lazily
    page.tap("#cover")
    page.wait_for("document.body.dataset.state === 'room'")
    gallery = page.evaluate(
        "[...document.querySelectorAll('#gallery img')]"
        ".map(i => ({src: i.getAttribute('src'), loading: i.loading}))"
    )
    assert [g["src"] for g in gallery] == [p["url"] for p in with_three["photos"]]
    assert {g["loading"] for g in gallery} == {"lazy"}
    page.wait_for(
        "(() => { const i = document.querySelector('#gallery img');"
        " return i.complete && i.naturalWidth === 800; })()"
    )
    page.screenshot(ARTIFACTS / "kiosk-room-portrait.png")
    # and the cycle waits while it is open; back returns to the card
    page.pump(2)
    assert page.evaluate("document.body.dataset.state") == "room"
    page.tap("#room-close")
    page.wait_for("document.body.dataset.state === 'paused'")
    assert shown_listing(page) == with_three["id"]

    # when the next listing has no photo, its card has none and the QR code where it was
    page.tap("#next")
    page.wait_for(
        f"document.getElementById('card').dataset.listingId === {json.dumps(without['id'])}"
    )
    assert page.evaluate("document.getElementById('cover').hidden")
    assert not page.evaluate("document.getElementById('card').classList.contains('has-photo')")

    # and in landscape the card with a photo fits too
    page.set_viewport(1920, 1080)
    page.tap("#prev")
    page.wait_for(COVER_LOADED)
    page.pump(1)
    assert page.evaluate(
        "(() => { const c = document.getElementById('card');"
        " return c.scrollHeight <= c.clientHeight && c.scrollWidth <= c.clientWidth; })()"
    )
    page.screenshot(ARTIFACTS / "kiosk-photo-landscape.png")
    assert_qr_decodes(page, newest_first(api)[0]["contactPhone"])
    assert page.console_errors == []


def test_photos_already_shown_stay_after_an_offline_reload(api: Api, page: browser.Page) -> None:
    # given a kiosk that has shown a listing's photo, its service worker ready
    landlord = api.sign_up("LANDLORD", name="王建国")
    with_three, _ = with_photos(api, landlord)
    page.navigate(kiosk_url(api.base_url, town=TOWN, cycle=600, idle=600))
    page.wait_for("navigator.serviceWorker.ready.then(r => !!r.active)")
    page.wait_for(COVER_LOADED)
    key = f"{api.base_url}/files/" + with_three["photos"][0]["thumbnailUrl"].split("/files/")[1]
    key = key.split("?")[0]
    page.wait_for(
        f"caches.open('anju-kiosk-photos-v1').then(c => c.match({json.dumps(key)}))"
        ".then(hit => !!hit)"
    )
    # when the network is down and the kiosk reloads
    page.send("Network.enable")
    page.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.reload()
    # then the listing comes back from localStorage, and its photo from the cache
    page.wait_for("document.body.dataset.online === 'false'")
    assert shown_listing(page) == with_three["id"]
    page.wait_for(COVER_LOADED)
    page.set_viewport(1920, 1080)
    page.pump(1)
    page.screenshot(ARTIFACTS / "kiosk-photo-offline.png")
