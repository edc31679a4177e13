"""Scripted scenarios over the simulator's world: one split table, one DDL, every step chosen by the test."""

from __future__ import annotations

from storagecdc import ddl_types
from storagecdc.messages import HASH_SPACE, BlockKey, BlockStage
from storagecdc.model import BlockScope, ColumnInfo, DDLEvent, Op, RowChanges, TableInfo, TableName, make_ts
from storagecdc.sim.checks import check_run
from storagecdc.sim.recording import RecordingStore
from storagecdc.sim.workload import START_MS, START_TS, Txn, Workload
from storagecdc.sim.world import Faults, SinkFactory, World
from storagecdc.storage.memory import MemoryStore

TABLE = TableName("shop", "orders")
COLS = (ColumnInfo("id", "INT", nullable=False, is_pk=True), ColumnInfo("v", "INT"))
V0 = TableInfo(TABLE, COLS, START_TS)
DDL_TS = make_ts(START_MS + 20)
V1 = TableInfo(TABLE, (*COLS, ColumnInfo("c0", "INT")), DDL_TS)
DDL = DDLEvent(DDL_TS, "ALTER TABLE `shop`.`orders` ADD COLUMN `c0`", "shop", ddl_types.ADD_COLUMN,
               BlockScope.TABLE, (TABLE,), (V1,))
KEY = BlockKey(DDL_TS)
LEFT = f"{TABLE}#0000{HASH_SPACE // 2 - 1:04x}"
RIGHT = f"{TABLE}#{HASH_SPACE // 2:04x}ffff"
WHOLE = f"{TABLE}#0000ffff"

NO_FAULTS = Faults(drop=0, duplicate=0, split=0, merge=0, move=0, crash=0, node_crash=0, maintainer_crash=0,
                   fault_steps=0)


def workload() -> Workload:
    """Rows on both spans before the DDL, rows on both spans after it."""
    before = Txn(make_ts(START_MS + 10), (RowChanges(V0, Op.INSERT, make_ts(START_MS + 10),
                                                     [(i, i) for i in range(1, 9)]),))
    after = Txn(make_ts(START_MS + 30), (RowChanges(V1, Op.INSERT, make_ts(START_MS + 30),
                                                    [(i, i, i) for i in range(9, 17)]),))
    final = {(i,): {"id": i, "v": i, "c0": None} for i in range(1, 9)}
    final.update({(i,): {"id": i, "v": i, "c0": i} for i in range(9, 17)})
    return Workload([before, DDL, after], {TABLE: [(START_TS, V0), (DDL_TS, V1)]}, {TABLE: final},
                    {str(TABLE): 2})


class Scenario:
    """A two-span table with one DDL; the test moves every message and step by hand."""

    def __init__(self, sink_factory: SinkFactory) -> None:
        self.w = workload()
        self.store = RecordingStore(MemoryStore("scenario"))
        self.world = World(0, self.w, self.store, sink_factory, NO_FAULTS)
        self.world.transport.faults = False
        self.world.deliver_all()

    def feed_until_blocked(self, did: str) -> None:
        d = self.world.dispatcher(did)
        while self.world.can_feed(d):
            self.world.feed(did)

    def in_flight(self) -> list[dict[str, object]]:
        return [wire for _, _, wire in self.world.transport.in_flight]

    def drop_in_flight(self) -> None:
        self.world.transport.in_flight.clear()

    def stage(self, did: str) -> BlockStage | None:
        return self.world.dispatcher(did).stage

    def finish(self) -> list[str]:
        """Run to the end without faults; every violation of the run and of the storage it produced."""
        for _ in range(200):
            self.world.deliver_all()
            for _, d in self.world.all_dispatchers():
                if d.stage is BlockStage.WRITING:
                    self.world.write(d.dispatcher_id)
                while self.world.can_feed(d):
                    self.world.feed(d.dispatcher_id)
            self.world.deliver_all()
            self.world.tick()
            if self.world.quiescent():
                break
        for _, d in self.world.all_dispatchers():
            d.flush()
        return self.world.violations + check_run(self.w, self.store, self.store.puts)
