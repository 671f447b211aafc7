"""Spacing of background passes that read much of a collection (the card sweep, the rent
worker's reminders and reconciliation).

Each pass runs at its interval, or less often when it is slow: after a pass that took d
seconds, the next starts no sooner than d / share seconds after it began, so that each
worker's passes keep at most `share` of its time and of the database's. On MongoDB these
passes are indexed reads of a few documents and run at their interval. On FerretDB v1, which
reads the whole collection for every query but `{_id: x}`, one pass over a city's occupants
took about a minute: run every minute by every worker, the passes kept the database busy all
the time and every request waited behind them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Pace:
    every_s: float
    share: float = 0.1
    next_at: float = 0.0

    def due(self, t: float) -> bool:
        return t >= self.next_at

    def ran(self, started: float, ended: float) -> float:
        """Records a pass from `started` to `ended` (loop time); returns the seconds to wait
        from `ended` until the next is due."""
        took = max(0.0, ended - started)
        self.next_at = started + max(self.every_s, took / self.share)
        return max(0.0, self.next_at - ended)
