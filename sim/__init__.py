"""A simulator of the device gateway, the payment provider and, from version 2 of the
protocol, the SMS provider (../shared/DEVICES.md).

It runs as its own process (`python -m sim`) so that the local stack and the tests exercise
Anju's real HTTP clients and webhook endpoints. Nothing in `app/` imports it.
"""

from __future__ import annotations

from sim.app import create_app

__all__ = ["create_app"]
