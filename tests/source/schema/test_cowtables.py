"""CowTables: every frozen view keeps what the map held when it was taken, whatever is written later."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storagecdc.source.schema.cowtables import CowTables

OPS = st.lists(st.tuples(st.sampled_from(["set", "del", "freeze"]), st.integers(0, 600), st.integers()),
               max_size=400)


@given(OPS)
def test_frozen_views_are_isolated_from_later_writes(ops: list[tuple[str, int, int]]) -> None:
    table: CowTables[int, int] = CowTables()
    model: dict[int, int] = {}
    views = []
    for op, key, value in ops:
        if op == "set":
            table[key] = value
            model[key] = value
        elif op == "del" and key in model:
            del table[key]
            del model[key]
        elif op == "freeze":
            views.append((table.freeze(), dict(model)))
        assert len(table) == len(model) and table.get(key) == model.get(key) and (key in table) == (key in model)
    assert dict(table) == model
    for view, expected in views:
        assert dict(view) == expected and len(view) == len(expected)


def test_freezing_twice_without_a_write_shares_the_view_and_a_missing_key_raises() -> None:
    table: CowTables[str, int] = CowTables()
    table["a"] = 1
    first = table.freeze()
    assert table.freeze() is first
    table["b"] = 2
    assert table.freeze() is not first and dict(first) == {"a": 1}
    try:
        del table["missing"]
    except KeyError:
        pass
    else:
        raise AssertionError("deleting a missing key must raise KeyError")
