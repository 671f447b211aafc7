"""`python -m scripts.recount_stats`: the same as `anju recount-stats` (app/cli)."""

from __future__ import annotations

from app.cli import main

if __name__ == "__main__":
    main(["recount-stats"])
