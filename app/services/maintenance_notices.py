"""What each step of a repair request tells the other side (MAINTENANCE_UPDATED): the
landlord hears of reports, confirmations, ratings, cancellations and reopenings; the tenant of
schedules, work under way, work done and cancellations. Texts carry the room and the category,
never the tenant's description (it may say when nobody is home)."""

from __future__ import annotations

from app.services.notifications import notify
from app.store import Doc, Store
from app.viewer import Role, Viewer

CATEGORY_NAMES = {
    "PLUMBING": "水管 Plumbing",
    "ELECTRICAL": "电路 Electrical",
    "APPLIANCE": "家电 Appliance",
    "DOOR_LOCK": "门锁 Door lock",
    "FIRE_SAFETY": "消防 Fire safety",
    "PESTS": "虫害 Pests",
    "STRUCTURE": "房屋 Structure",
    "OTHER": "其他 Other",
}
STATUS_TEXT = {
    "OPEN": "reported",
    "SCHEDULED": "scheduled",
    "IN_PROGRESS": "being repaired",
    "DONE": "done",
    "CONFIRMED": "confirmed",
    "CANCELLED": "cancelled",
}


async def tell_other_side(
    store: Store,
    request: Doc,
    viewer: Viewer,
    status: str,
    note: str | None,
    *,
    rating: int | None = None,
) -> None:
    """Notifies the tenant of the landlord's step, the landlord of the tenant's."""
    to = request["tenant_id"] if viewer.role is Role.LANDLORD else request["landlord_id"]
    room = await store.rooms.find_one({"_id": request["room_id"]}, {"number": 1})
    prop = await store.properties.find_one({"_id": request["property_id"]}, {"name": 1})
    where = f"{prop['name'] if prop else ''} {room['number'] if room else ''}".strip()
    category = CATEGORY_NAMES.get(request["category"], request["category"])
    if viewer.role is Role.TENANT and status == "OPEN" and len(request["updates"]) > 1:
        what = "reopened: not fixed"
    else:
        what = STATUS_TEXT.get(status, status.lower())
    body = f"{where}: {category} repair {what}."
    if status == "SCHEDULED" and request.get("scheduled_for") is not None:
        body += f" Planned for {request['scheduled_for'].strftime('%Y-%m-%d %H:%M')} UTC."
    if rating is not None:
        body += f" Rated {rating}/5."
    if note:
        body += f" Note: {note}"
    await notify(
        store,
        to,
        "MAINTENANCE_UPDATED",
        f"报修 Repair: {where} · {what}",
        body,
        maintenance_request_id=request["_id"],
    )
