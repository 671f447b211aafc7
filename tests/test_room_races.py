"""Concurrent changes of rooms, their photos and repair requests, sent at once through the API
(tests/test_races.py's `together`): photos added at once are all kept and never pass the
limit, a room archived while a lease starts is never both, and of two steps on one repair
request one wins."""

from __future__ import annotations

from tests.conftest import Stack
from tests.lease_support import START_LEASE, lease_input, make_home, start_lease
from tests.photo_support import ADD_PHOTO, add_photo, photo, uploaded
from tests.support import Api
from tests.test_listings import add_room, create_property, publish
from tests.test_maintenance import NODE, UPDATE, report
from tests.test_races import together
from tests.test_rooms import ARCHIVE_ROOM, ROOM


def test_photos_added_at_once_are_all_kept_up_to_the_limit(api: Api, stack: Stack) -> None:
    # given a listed room with 17 photos, and six more uploads ready
    landlord = api.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    listing = publish(landlord, room)
    for i in range(17):
        add_photo(landlord, room, photo(colour=(i * 10, 90, 90)))
    uploads = [uploaded(landlord, photo(colour=(200, i * 30, 10))) for i in range(6)]
    # when all six are added at once
    answers = together(
        stack,
        [(ADD_PHOTO, {"input": {"roomId": room, "uploadId": u}}, landlord.token) for u in uploads],
    )
    # then three were added and three refused, and none was lost
    added = [a for a in answers if a["addRoomPhoto"]["userErrors"] == []]
    refused = [e["code"] for a in answers for e in a["addRoomPhoto"]["userErrors"]]
    assert len(added) == 3 and refused == ["TOO_MANY_PHOTOS"] * 3
    photos = landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Room { photos { id } } } }", {"id": room}
    )["node"]["photos"]
    assert len(photos) == 20
    seen = {p["id"] for a in added for p in a["addRoomPhoto"]["room"]["photos"]}
    assert seen <= {p["id"] for p in photos}
    # and the listing shows the same twenty, in the same order
    on_listing = api.anonymous().data(
        "query($id: ID!) { node(id: $id) { ... on Listing { photos { id } } } }",
        {"id": listing["id"]},
    )["node"]["photos"]
    assert on_listing == photos


def test_a_room_archived_as_its_lease_starts_is_never_both(api: Api, stack: Stack) -> None:
    landlord = api.caller("LANDLORD")
    tenant = api.caller("TENANT")
    outcomes = set()
    for _ in range(4):
        # given a vacant room
        home = make_home(landlord, doors=False)
        # when it is archived and let at the same moment
        archive, lease = together(
            stack,
            [
                (ARCHIVE_ROOM, {"input": {"roomId": home.room}}, landlord.token),
                (START_LEASE, {"input": lease_input(home.room, tenant)}, landlord.token),
            ],
        )
        archived = archive["archiveRoom"]["userErrors"] == []
        let = lease["startLease"]["userErrors"] == []
        # then at most one of them happened, and the room says which
        assert not (archived and let), (archive, lease)
        room = landlord.data(ROOM, {"id": home.room})["node"]
        assert (room["archivedAt"] is not None) == archived
        assert (room["status"] == "OCCUPIED") == let
        outcomes.add((archived, let))
    assert outcomes <= {(True, False), (False, True), (False, False)}


def test_of_two_steps_on_one_repair_at_once_one_wins(api: Api, stack: Stack) -> None:
    # given an open repair request
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    tenant = api.caller("TENANT")
    start_lease(landlord, home.room, tenant)
    request = report(tenant, home.room)["request"]["id"]
    # when the landlord marks it done as the tenant cancels it
    done, cancelled = together(
        stack,
        [
            (UPDATE, {"input": {"requestId": request, "status": "DONE"}}, landlord.token),
            (UPDATE, {"input": {"requestId": request, "status": "CANCELLED"}}, tenant.token),
        ],
    )
    # then exactly one happened; the other was told the request had moved on
    results = [done["updateMaintenance"], cancelled["updateMaintenance"]]
    won = [r for r in results if r["userErrors"] == []]
    lost = [r for r in results if r["userErrors"]]
    assert len(won) == 1 and len(lost) == 1, results
    assert [e["code"] for e in lost[0]["userErrors"]] == ["INVALID_TRANSITION"]
    final = tenant.data(NODE, {"id": request})["node"]
    assert final["status"] == won[0]["request"]["status"]
    assert [u["status"] for u in final["updates"]] == ["OPEN", final["status"]]
