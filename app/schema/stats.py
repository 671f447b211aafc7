"""Population statistics for police and responders."""

from __future__ import annotations

from typing import Any

import strawberry

from app.schema.properties import PropertyKind, SafetyEquipment


@strawberry.type(description="Counts of one kind of property.")
class KindCount:
    kind: PropertyKind = strawberry.field(description="The kind.")
    properties: int = strawberry.field(description="Properties of that kind.")
    rooms: int = strawberry.field(description="Their rooms.")


@strawberry.type(
    description="Counts of rental housing and its residents in a place, at the time of asking "
    "(archived properties and rooms left out).",
)
class PopulationStats:
    properties: int = strawberry.field(description="Properties.")
    rooms: int = strawberry.field(description="Their rooms.")
    occupied_rooms: int = strawberry.field(description="Rooms with a running lease.")
    residents: int = strawberry.field(
        description="People registered as living there now (current occupants)."
    )
    by_kind: list[KindCount] = strawberry.field(description="The same counts per kind of property.")
    safety: SafetyEquipment = strawberry.field(
        description="The fire-safety equipment declared, summed over the properties."
    )

    @classmethod
    def from_totals(cls, totals: dict[str, Any]) -> PopulationStats:
        return cls(
            properties=totals["properties"],
            rooms=totals["rooms"],
            occupied_rooms=totals["occupied_rooms"],
            residents=totals["residents"],
            by_kind=[
                KindCount(
                    kind=PropertyKind(k["kind"]), properties=k["properties"], rooms=k["rooms"]
                )
                for k in totals["by_kind"]
            ],
            safety=SafetyEquipment.from_doc(totals),
        )
