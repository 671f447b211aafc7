"""safetyStats' figures and hazardsExport's file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry


@strawberry.type(
    description="Fire-safety figures of a town, community or grid (one row of the town's "
    "table, 表格化管理). Period figures count whole days of the city (UTC+8)."
)
class SafetyStats:
    properties_inspected: int = strawberry.field(
        description="Distinct properties inspected in the period."
    )
    inspections: int = strawberry.field(description="Inspections in the period.")
    hazards_found: int = strawberry.field(description="Hazards found in the period.")
    hazards_open: int = strawberry.field(description="Hazards not rectified, now.")
    hazards_overdue: int = strawberry.field(
        description="Hazards past their deadline and not rectified, now."
    )
    hazards_rectified: int = strawberry.field(description="Hazards rectified in the period.")
    median_days_to_rectify: float | None = strawberry.field(
        description="Median days from found to rectified, over hazards rectified in the "
        "period; null when none was."
    )
    detectors_offline: int = strawberry.field(description="Smoke detectors offline now.")
    occupied_rooms_without_detector: int = strawberry.field(
        description="Let rooms without a smoke detector now (Anju's open NO_DETECTOR hazards)."
    )
    alarms_this_year: int = strawberry.field(
        description="Smoke and heat alarms from 1 January (UTC+8) to now; tests left out."
    )
    alarms_last_year: int = strawberry.field(description="The same, last year to the same moment.")
    new_extinguishers: int = strawberry.field(
        description="Extinguishers added to the properties' records in the period."
    )
    new_smoke_detectors: int = strawberry.field(
        description="Smoke detectors added to the properties' records in the period."
    )
    new_escape_windows: int = strawberry.field(
        description="Escape windows added to the properties' records in the period."
    )

    @classmethod
    def from_figures(cls, figures: dict[str, Any]) -> SafetyStats:
        return cls(**figures)


@strawberry.type(description="A file to download once, soon.")
class Export:
    url: str = strawberry.field(
        description="Short-lived signed download (text/csv, UTF-8 with a byte-order mark); "
        "it is the capability: do not share it."
    )
    expires_at: dt.datetime = strawberry.field(
        description="When the URL stops working (ANJU_HAZARD_EXPORT_URL_TTL_S)."
    )
    rows: int = strawberry.field(description="Rows of data, the header left out.")
