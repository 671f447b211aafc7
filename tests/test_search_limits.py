"""What one search may cost: anonymous clients are limited per address, `near` reaches only so
far, and counts stop at a bound and say so. Run on the strict stack (tests/conftest.py
STRICT_LIMITS: 5 anonymous searches a minute, counts up to 3, `near` up to 5 km)."""

from __future__ import annotations

from tests.support import Api
from tests.test_listings import SEARCH, add_room, create_property, publish, search

CAPPED = """query($filter: ListingFilter) { listings(filter: $filter, first: 2) {
  totalCount totalCountCapped pageInfo { hasNextPage } edges { node { id } } } }"""


def test_anonymous_searches_are_limited_per_client(strict_api: Api) -> None:
    # given an anonymous client (the kiosk, or a scraper) at one address
    anonymous = strict_api.anonymous()
    # when it searches more often than the limit allows in a minute
    answers = [anonymous.codes(SEARCH, {"first": 1}) for _ in range(6)]
    # then the searches past the limit are refused
    assert answers[:5] == [[]] * 5
    assert answers[5] == ["RATE_LIMITED"]
    # and a signed-in tenant is not held by the anonymous limit
    tenant = strict_api.caller("TENANT")
    assert tenant.codes(SEARCH, {"first": 1}) == []


def test_counts_stop_at_the_bound_and_say_so(strict_api: Api) -> None:
    # given five live listings, more than the count bound (3)
    landlord = strict_api.caller("LANDLORD")
    prop = create_property(landlord)
    for number in range(5):
        publish(landlord, add_room(landlord, prop, f"{101 + number}"))
    tenant = strict_api.caller("TENANT")
    near = {"near": {"lat": 28.352, "lng": 121.608, "radiusKm": 5}}
    # when a tenant searches them all (plainly, and near a point), and then fewer
    everything = tenant.data(CAPPED)["listings"]
    around = tenant.data(CAPPED, {"filter": near})["listings"]
    cheap = tenant.data(CAPPED, {"filter": {"maxRentFen": 1}})["listings"]
    # then the count stops at the bound and says it did; below it, it is exact
    assert (everything["totalCount"], everything["totalCountCapped"]) == (3, True)
    assert everything["pageInfo"]["hasNextPage"] is True
    assert (around["totalCount"], around["totalCountCapped"]) == (3, True)
    assert (cheap["totalCount"], cheap["totalCountCapped"]) == (0, False)


def test_near_reaches_only_so_far(strict_api: Api) -> None:
    # given a tenant searching near a point
    tenant = strict_api.caller("TENANT")
    near = {"lat": 28.35, "lng": 121.6}
    # when the radius is over the bound (5 km here; 10 km in production)
    codes = tenant.codes(SEARCH, {"filter": {"near": {**near, "radiusKm": 5.5}}})
    # then the search is refused, saying why
    assert codes == ["OUT_OF_RANGE"]
    # and within the bound it runs
    assert search(tenant, filter={"near": {**near, "radiusKm": 5}})["totalCount"] == 0
