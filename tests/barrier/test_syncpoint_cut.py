"""Syncpoint markers from the spans' reports agree with markers from a listing of the store.

The reports carry each span's last data file per directory and its instance token; the sink lists storage
only for tables whose span instances changed since its previous marker. Over simulator seeds with splits,
merges, moves, crashes and maintainer restarts, each marker built from reports is compared with the marker
one listing of the store gives at the same moment: the same tables, versions, spans and directories, and
in each directory the same last file, or an earlier one when a span was recreated below the syncpoint after
the cut was taken (its successor rewrites rows the cut already holds, as duplicates, into later files of
the same directory; the simulator's own check proves each marker a consistent cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest

from storagecdc.dispatcher.block import syncpoint_cut
from storagecdc.dispatcher.router import Span
from storagecdc.dispatcher.table_dispatcher import TableDispatcher
from storagecdc.messages import BlockStatus, CutEntry, Message
from storagecdc.model import ColumnInfo, Op, RowChanges, SyncPointEvent, TableInfo, TableName, make_ts
from storagecdc.sim.runner import SIM_OPTIONS, run_seed
from storagecdc.sink.base import Sink, TableCut
from storagecdc.sink.options import SinkOptions
from storagecdc.sink.storage_sink import StorageSink
from storagecdc.sink.syncpoint_cut import RELIST_ONE_BY_ONE, SyncpointCuts
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.memory import MemoryStore
from storagecdc.storage.syncpoint import parse_syncpoint


class ComparingSink(StorageSink):
    """The real sink; every marker it writes from reports is checked against a listing of the store."""

    mismatches: ClassVar[list[str]] = []
    markers: ClassVar[int] = 0
    identical: ClassVar[int] = 0

    def write_syncpoint_cut(self, commit_ts: int, cut: Sequence[TableCut]) -> str:
        listed = SyncpointCuts(self.store, self.options).listed(commit_ts, _spans(cut))
        key = super().write_syncpoint_cut(commit_ts, cut)
        ComparingSink.markers += 1
        written = self.store.get(key)
        if written == listed:
            ComparingSink.identical += 1
        elif _last_files(written) != _last_files(listed, at_most=_last_files(written)):
            ComparingSink.mismatches.append(f"{commit_ts}: {written!r} != {listed!r}")
        return key


def _spans(cut: Sequence[TableCut]) -> dict[TableName, dict[str, int]]:
    """The cut as ``write_syncpoint`` (the listing) takes it: only its tables and span ids are read."""
    return {t.name: dict.fromkeys(t.spans, 0) for t in cut}


def _last_files(marker: bytes, at_most: dict[tuple[str, ...], int] | None = None) -> dict[tuple[str, ...], int]:
    """(table, version, span, directory) -> last file index; with ``at_most``, each index capped by its."""
    out: dict[tuple[str, ...], int] = {}
    for t in parse_syncpoint(marker).tables:
        for span, keys in t.spans.items():
            for key in keys or ("/",):
                directory, _, name = key.rpartition("/")
                slot = (str(t.name), str(t.version), span, directory)
                index = int(name.rpartition("_")[2].removeprefix("CDC").split(".")[0] or 0)
                out[slot] = index if at_most is None else min(index, at_most.get(slot, index))
    return out


def comparing_sink(store: ObjectStore) -> Sink:
    return ComparingSink(store, SIM_OPTIONS, clock=lambda: 0, checkpoint_interval_ms=0)


def test_reported_markers_equal_listed_markers_under_faults() -> None:
    ComparingSink.mismatches, ComparingSink.markers, ComparingSink.identical = [], 0, 0
    for seed in range(120):
        assert run_seed(seed, comparing_sink) == [], seed
    assert ComparingSink.markers > 100
    assert ComparingSink.mismatches == []
    assert ComparingSink.identical > 0.9 * ComparingSink.markers


# -- the sink's bookkeeping, directly --------------------------------------------------------------------

OPTS = SinkOptions(protocol="csv", date_separator="none")
T = TableName("db", "t")
DAY_MS = 86_400_000


def _sink(store: MemoryStore) -> StorageSink:
    return StorageSink(store, OPTS, clock=lambda: 0, checkpoint_interval_ms=0)


def _put(store: MemoryStore, key: str) -> None:
    store.put(key, b"x")


def test_the_first_marker_lists_then_reports_suffice() -> None:
    store = MemoryStore("cut")
    _put(store, "db/t/100/CDC00000000000000000004.csv")  # an earlier process's file: only a listing knows it
    s = _sink(store)
    s.write_table_schema(TableInfo(T, (), 100))
    cuts = s._cuts
    s.write_syncpoint_cut(200, [TableCut(T, 100, ("",), {}, (7,))])
    assert cuts.listings == 1
    _put(store, "db/t/100/CDC00000000000000000005.csv")
    key = s.write_syncpoint_cut(300, [TableCut(T, 100, ("",), {"": ("db/t/100/CDC00000000000000000005.csv",)}, (7,))])
    assert cuts.listings == 1, "same instance as at the previous marker: no listing"
    [table] = parse_syncpoint(store.get(key)).tables
    assert table.spans == {"": ("db/t/100/CDC00000000000000000005.csv",)}


def test_a_new_instance_lists_its_table_again() -> None:
    store = MemoryStore("cut")
    s = _sink(store)
    s.write_syncpoint_cut(200, [TableCut(T, 100, ("",), {}, (7,))])
    # The instance that reported crashed after writing file 1; its successor (token 8) wrote nothing yet.
    _put(store, "db/t/100/CDC00000000000000000001.csv")
    key = s.write_syncpoint_cut(300, [TableCut(T, 100, ("",), {}, (8,))])
    assert s._cuts.listings == 2
    [table] = parse_syncpoint(store.get(key)).tables
    assert table.spans == {"": ("db/t/100/CDC00000000000000000001.csv",)}


def test_many_new_instances_list_the_store_once() -> None:
    store = MemoryStore("cut")
    s = _sink(store)
    names = [TableName("db", f"t{i}") for i in range(RELIST_ONE_BY_ONE + 1)]
    s.write_syncpoint_cut(200, [TableCut(n, 100, ("",), {}, (1,)) for n in names])
    s.write_syncpoint_cut(300, [TableCut(n, 100, ("",), {}, (2,)) for n in names])
    assert s._cuts.listings == 2


def test_a_cut_naming_a_table_twice_is_refused() -> None:
    s = _sink(MemoryStore("cut"))
    with pytest.raises(ValueError, match="appears twice"):
        s.write_syncpoint_cut(200, [TableCut(T, 100, ("",), {}, (1,)), TableCut(T, 100, ("",), {}, (2,))])


def test_a_span_reports_its_last_file_in_every_date_directory() -> None:
    """With date directories a span writes several directories per version; its WAITING names the last
    file of each, and the marker from those reports equals the listed one."""
    store = MemoryStore("days")
    options = SinkOptions(protocol="csv", date_separator="day", include_commit_ts=True)
    sink = StorageSink(store, options, clock=lambda: 0, checkpoint_interval_ms=0)
    info = TableInfo(T, (ColumnInfo("id", "INT", nullable=False, is_pk=True),), make_ts(DAY_MS))
    sent: list[Message] = []
    d = TableDispatcher(Span(T), info, sink, info.version, sent.append)
    for day, rows in ((1, 2), (2, 1), (1, 0)):  # two files on day 1, one on day 2
        for i in range(rows):
            d.append(RowChanges(info, Op.INSERT, make_ts(day * DAY_MS + 1000 + i), [(day * 10 + i,)]))
            d.flush()
    t = make_ts(3 * DAY_MS)
    d.block(SyncPointEvent(t))
    [waiting] = [m for m in sent if isinstance(m, BlockStatus)]
    assert [k.rsplit("/", 2)[1:] for k in waiting.files] == [
        ["1970-01-02", "CDC00000000000000000002.csv"], ["1970-01-03", "CDC00000000000000000001.csv"]]
    cut = (CutEntry(waiting.span.table, waiting.table_version, waiting.file_id, waiting.last_file_index,
                    waiting.files, waiting.instance),)
    tables = syncpoint_cut(cut)
    listed = SyncpointCuts(store, options).listed(t, _spans(tables))
    assert SyncpointCuts(store, options).reported(t, tables) == listed
    cuts = SyncpointCuts(store, options)
    cuts.reported(t, tables)
    assert cuts.reported(t + 1, tables) == listed.replace(b'"commit-ts":%d' % t, b'"commit-ts":%d' % (t + 1))
    assert cuts.listings == 1
