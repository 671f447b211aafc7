"""Great-circle distance and the bounding box of a circle, on a spherical Earth.

The search narrows candidates with an indexed box on `location.lat` / `location.lng`, then
keeps those whose exact distance is within the radius. The box must contain the whole circle:
its latitude half-width is the radius itself, and its longitude half-width is the widest a
circle gets at that latitude, asin(sin(r) / cos(lat)) (J. P. Matuschek, "Finding Points Within
a Distance of a Latitude/Longitude Using Bounding Coordinates"), which is wider than the naive
r / cos(lat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0
# Widen the box by a hair so that rounding can never drop a point the exact distance keeps.
_PAD = 1e-9


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance between two points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    lat_min: float
    lat_max: float
    # None when the circle reaches a pole: every longitude is in it
    lng_ranges: tuple[tuple[float, float], ...] | None


def bounding_box(lat: float, lng: float, radius_km: float) -> Box:
    """The smallest latitude/longitude box holding every point within `radius_km`."""
    r = radius_km / EARTH_RADIUS_KM
    lat_r = math.radians(lat)
    lat_min, lat_max = lat_r - r, lat_r + r
    if lat_min <= -math.pi / 2 or lat_max >= math.pi / 2:
        return Box(
            max(-90.0, math.degrees(lat_min) - _PAD), min(90.0, math.degrees(lat_max) + _PAD), None
        )
    dlng = math.degrees(math.asin(min(1.0, math.sin(r) / math.cos(lat_r)))) + _PAD
    lo, hi = lng - dlng, lng + dlng
    if lo < -180:  # the box crosses the antimeridian: two ranges
        ranges: tuple[tuple[float, float], ...] = ((lo + 360, 180.0), (-180.0, hi))
    elif hi > 180:
        ranges = ((lo, 180.0), (-180.0, hi - 360))
    else:
        ranges = ((lo, hi),)
    return Box(math.degrees(lat_min) - _PAD, math.degrees(lat_max) + _PAD, ranges)
