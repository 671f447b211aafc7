"""The sharding plan (app/store/sharding.py) agrees with the declared indexes: every
collection has a decision, every unique rule of a sharded collection starts with its shard
key, and a collection whose _id is a rule is sharded on _id (or only ever retries the same
document)."""

from __future__ import annotations

import dataclasses

import pytest
from pymongo import IndexModel

from app.store import indexes, sharding
from app.store.indexes import UniqueWhile


def test_the_plan_agrees_with_every_declared_index() -> None:
    assert sharding.problems() == []


def test_a_unique_index_without_the_shard_key_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a new unique rule on the largest sharded collection, on another field
    declared = {
        **indexes.INDEXES,
        "access_events": [
            *indexes.INDEXES["access_events"],
            IndexModel([("event_id", 1)], name="event_once", unique=True),
            UniqueWhile("one_open_per_door", key="door_id", field="open", value=True),
        ],
    }
    monkeypatch.setattr(sharding, "INDEXES", declared)
    # then the plan check names both
    found = sharding.problems()
    assert any("event_once" in p and "shard key" in p for p in found), found
    assert any("one_open_per_door" in p for p in found), found


def test_an_undecided_collection_and_an_id_rule_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sharding, "INDEXES", {**indexes.INDEXES, "parcels": []})
    keys = dict(sharding.SHARD_KEYS)
    keys["access_events"] = dataclasses.replace(
        keys["access_events"], retried_writes_repeat_the_document=False
    )
    monkeypatch.setattr(sharding, "SHARD_KEYS", keys)
    found = sharding.problems()
    assert "parcels: neither in SHARD_KEYS nor in UNSHARDED" in found
    assert "access_events: _id carries a rule but is not the shard key" in found


def test_the_shard_commands_name_each_sharded_collection() -> None:
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(main, ["shard-commands"], env={"MONGODB_DB": "anju"})
    assert result.exit_code == 0, result.output
    commands = result.output.splitlines()
    assert commands[0] == 'sh.enableSharding("anju")'
    assert (
        'sh.shardCollection("anju.access_events", {"property_id": "hashed", "at": 1})' in commands
    )
    assert len(commands) == 1 + len(sharding.SHARD_KEYS)
