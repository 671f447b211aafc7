"""Population statistics for police and responders."""

from __future__ import annotations

from typing import Any

import strawberry

from app.schema.properties import PropertyKind, SafetyEquipment


@strawberry.type
class KindCount:
    kind: PropertyKind
    properties: int
    rooms: int


@strawberry.type
class PopulationStats:
    properties: int
    rooms: int
    occupied_rooms: int
    residents: int
    by_kind: list[KindCount]
    safety: SafetyEquipment

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
