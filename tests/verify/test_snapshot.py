"""Consistent snapshots of the private MariaDB: MariaDB's lock-free position and the locked (MySQL) method."""

from __future__ import annotations

import pytest

from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.verify import take_snapshot

pytestmark = pytest.mark.mariadb


@pytest.mark.parametrize("locked", [False, True], ids=["lock-free", "locked"])
def test_snapshot_position_and_isolation(mariadb: MariaDBServer, mariadb_db: str, locked: bool) -> None:
    mariadb.execute_script("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)", database=mariadb_db)
    ((file, offset, *_),) = mariadb.execute("SHOW MASTER STATUS")
    snap = take_snapshot(mariadb.uri(), locked=locked)
    try:
        assert snap.position == (file, offset)
        mariadb.execute(f"INSERT INTO `{mariadb_db}`.t VALUES (2)")
        with snap.conn.cursor() as cur:
            cur.execute(f"SELECT id FROM `{mariadb_db}`.t")
            assert cur.fetchall() == ((1,),)  # the later write is not in the snapshot
        ((_, after, *_),) = mariadb.execute("SHOW MASTER STATUS")
        assert after > offset
    finally:
        snap.close()
