"""Background passes keep to their share of the time (app/workers/pacing.py)."""

from __future__ import annotations

from app.workers.pacing import Pace


def test_a_fast_pass_runs_at_its_interval() -> None:
    pace = Pace(every_s=60, share=0.1)
    assert pace.due(0.0)
    # a pass of 0.5 s: the next one starts 60 s after this one began
    assert pace.ran(0.0, 0.5) == 59.5
    assert not pace.due(59.0) and pace.due(60.0)


def test_a_slow_pass_waits_until_it_has_used_only_its_share() -> None:
    pace = Pace(every_s=60, share=0.1)
    # a pass of 54 s (FerretDB reading a city's occupants): the next begins 540 s after it
    # began, so passes take a tenth of the time, not all of it
    assert pace.ran(100.0, 154.0) == 486.0
    assert not pace.due(639.0) and pace.due(640.0)
    # and once passes are fast again, so is the pace
    assert pace.ran(640.0, 641.0) == 59.0
