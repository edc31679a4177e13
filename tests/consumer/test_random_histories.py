"""Random histories (inserts, updates that may move the key across spans, deletes, ADD COLUMN, split spans,
redelivered files, consumer restarts, checkpoints anywhere) replay to the state a plain model computes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from storagecdc import ddl_types
from storagecdc.consumer import ConsumerOptions, Replayer, SqliteApplier
from storagecdc.model import Op, TableInfo
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.paths import parse_data_file_key
from tests.consumer.feed import Feed, col, pk, table, ts
from tests.consumer.test_replay import _redeliver

SPANS = ("s-even", "s-odd")


def _span(key: int, split: bool) -> str | None:
    return SPANS[key % 2] if split else None


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("protocol", ["csv", "parquet", "canal-json"])
def test_random_history_replays_to_the_model(protocol: str, seed: int, tmp_path: Path) -> None:
    rng = random.Random(f"{protocol}-{seed}")
    split = seed % 2 == 1
    old_value = rng.random() < 0.5
    store = MemoryStore(f"random-{protocol}-{seed}")
    extra = {"include_commit_ts": True} if protocol == "csv" else {}
    if protocol == "canal-json":
        extra = {"enable_tidb_extension": True}
    feed = Feed(store, protocol=protocol, output_old_value=old_value, file_size=1024, **extra)
    opts = ConsumerOptions(output_old_value=old_value, **extra)
    db = tmp_path / "t.db"
    applier = SqliteApplier(db)
    replayer = Replayer(store, applier, opts, batch_rows=rng.choice([2, 7, 10_000]))
    columns = [pk(), col("c0", "INT")]
    info: TableInfo = feed.create(table("t", *columns), ts(1))
    model: dict[int, list[Any]] = {}
    n = 2
    for _ in range(120):
        n += 1
        action = rng.random()
        if action < 0.04:  # ADD COLUMN
            name = f"c{len(columns) - 1}"
            columns.append(col(name, "INT", default="7", has_default=True))
            feed.ddl(ts(n), f"ALTER TABLE t ADD {name} INT DEFAULT 7", ddl_types.ADD_COLUMN, tables=(info.name,),
                     new_tables=(table("t", *columns),))
            info = table("t", *columns, version=ts(n))
            for row in model.values():
                row.append(7)
        elif action < 0.12:
            feed.checkpoint(ts(n))
            if rng.random() < 0.3:
                files = [i.key for i in store.list(f"db/t/{info.version}/") if parse_data_file_key(i.key)]
                if files:
                    _redeliver(store, *files[-rng.randint(1, min(3, len(files))):])
            if rng.random() < 0.3:
                applier.close()
                applier = SqliteApplier(db)
                replayer = Replayer(store, applier, opts, batch_rows=rng.choice([2, 7, 10_000]))
            replayer.run()
        elif action < 0.55 or not model:
            key = rng.randint(1, 60)
            if key not in model:
                model[key] = [key, *(rng.randint(0, 9) for _ in columns[1:])]
                feed.rows(info, Op.INSERT, [tuple(model[key])], ts(n), span=_span(key, split))
        elif action < 0.8:
            key = rng.choice(sorted(model))
            before = tuple(model[key])
            after = [key, *(rng.randint(0, 9) for _ in columns[1:])]
            new_key = rng.randint(61, 120) if rng.random() < 0.3 and after[0] + 60 not in model else key
            if new_key != key and new_key not in model:
                after[0] = new_key
                del model[key]
                if split and _span(key, split) != _span(new_key, split):
                    feed.rows(info, Op.DELETE, [before], ts(n), span=_span(key, split))
                    feed.rows(info, Op.INSERT, [tuple(after)], ts(n), span=_span(new_key, split))
                else:
                    feed.rows(info, Op.UPDATE, [tuple(after)], ts(n), before=[before], pk_changed=[True],
                              span=_span(key, split))
                model[new_key] = after
            else:
                model[key] = after
                feed.rows(info, Op.UPDATE, [tuple(after)], ts(n), before=[before], pk_changed=[False],
                          span=_span(key, split))
        else:
            key = rng.choice(sorted(model))
            feed.rows(info, Op.DELETE, [tuple(model.pop(key))], ts(n), span=_span(key, split))
    feed.checkpoint(ts(n + 1))
    replayer.run()
    assert applier.rows(info) == [tuple(model[k]) for k in sorted(model)]
