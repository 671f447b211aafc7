"""`node(id:)`: each type registers how to load one object for a viewer, or None if the
viewer may not see it (then node answers null, exactly as for an unknown id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

NodeResolver = Callable[[Any, ObjectId], Awaitable[Any]]
NODE_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str) -> Callable[[NodeResolver], NodeResolver]:
    def register(fn: NodeResolver) -> NodeResolver:
        NODE_RESOLVERS[type_name] = fn
        return fn

    return register
