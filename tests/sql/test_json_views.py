"""The JSON form is the same on every store: views read back from a database (instants in UTC)
serialise as those of the memory store do, and match their schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from qiandao import schema, to_json
from qiandao.ports.store import Store
from qiandao_adapters.memory import MemoryStore
from tests.helpers import make_world


def _scrub(data: Any) -> Any:
    """The JSON without the ids a store draws at random."""
    if isinstance(data, dict):
        return {k: _scrub(v) for k, v in data.items() if k != "id" and not k.endswith("_id")}
    if isinstance(data, list):
        return [_scrub(v) for v in data]
    return data


def _views(store: Store) -> dict[str, Any]:
    world = make_world(store=store)
    item, (assignment,) = world.assigned()
    world.qd.accept(world.unit("u-a"), item.id, assignment.id)
    world.qd.reply(world.unit("u-a"), item.id, assignment.id, "已办理")
    return {
        "item_detail": world.qd.item_detail(world.member, item.id),
        "my_items": world.qd.my_items(world.member),
        "lane_counts": world.qd.lane_counts(world.editor),
    }


def test_views_serialise_alike_on_every_store(any_store: Store) -> None:
    found = {name: to_json(view) for name, view in _views(any_store).items()}
    for name, data in found.items():
        jsonschema.validate(data, schema(f"{name}.result"))
        assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    detail = json.dumps(found["item_detail"])
    assert "+00:00" not in detail and "+08:00" in detail  # one zone, whatever the store gave
    expected = {name: to_json(view) for name, view in _views(MemoryStore()).items()}
    assert _scrub(found) == _scrub(expected)
