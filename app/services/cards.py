"""Access cards (一人一卡): every occupant holds one, valid on their room's doors and the
building's entrances only while they live there.

The card lives on the occupant document: `card{card_number, valid_from, valid_until,
revoked_at, version, changed_at}`. That is the *desired* state; the card outbox
(app/services/card_outbox.py) brings every door at the gateway to it. Every change of a card
(issued, new validity, revoked) goes through the outbox (`CardOutbox.change_card`), which
queues the doors' jobs for the next version first and then writes the change with that
version, so versions follow the real order of the changes and no change goes unqueued.
"""

from __future__ import annotations

import datetime as dt
import secrets

from app.store import Doc

PUT, DELETE = "PUT", "DELETE"
CARD_DIGITS = 16


def new_card_number() -> str:
    """16 random decimal digits from the OS's CSPRNG: unique in practice (the unique index
    catches the rest) and not guessable from other cards."""
    return f"{secrets.randbelow(10**CARD_DIGITS):0{CARD_DIGITS}d}"


def day_start(day: str | dt.date) -> dt.datetime:
    """Midnight UTC at the start of a calendar day (dates are UTC days throughout Anju)."""
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def lease_window(start_date: str, end_date: str) -> tuple[dt.datetime, dt.datetime]:
    """A lease's card validity: from the start of its first day to the end of its last."""
    return day_start(start_date), day_start(end_date) + dt.timedelta(days=1)


def card_doc(
    number: str, valid_from: dt.datetime, valid_until: dt.datetime, at: dt.datetime
) -> Doc:
    return {
        "card_number": number,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "revoked_at": None,
        "version": 1,
        "changed_at": at,
    }


def desired(card: Doc) -> Doc:
    """What every door should hold for this card."""
    if card.get("revoked_at") is not None:
        return {"op": DELETE, "valid_from": None, "valid_until": None}
    return {"op": PUT, "valid_from": card["valid_from"], "valid_until": card["valid_until"]}
