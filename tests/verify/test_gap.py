"""Which binlog events between the output's position and the source snapshot's are harmless."""

from __future__ import annotations

from storagecdc.table_filter import TableFilter
from storagecdc.verify.gap import _harmless


def test_event_kinds() -> None:
    flt = TableFilter(["shop.*"])
    harmless = [("Format_desc", "Server ver: 10.11"), ("Gtid_list", "[0-1-5]"), ("Rotate", "mysql-bin.000002;pos=4"),
                ("Gtid", "BEGIN GTID 0-1-6"), ("Query", "BEGIN"), ("Query", "COMMIT"), ("Xid", "COMMIT /* xid=9 */"),
                ("Table_map", "table_id: 33 (other.t)"), ("Write_rows_v1", "table_id: 33 flags: STMT_END_F"),
                ("Update_rows", "table_id: 92"), ("Anonymous_Gtid", "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'")]
    harmful = [("Table_map", "table_id: 34 (shop.orders)"), ("Table_map", "table_id: 34 (`shop`.`orders`)"),
               ("Query", "ALTER TABLE other.t ADD x INT"), ("Query", "XA START X'01'"), ("Table_map", "garbled"),
               ("Some_new_event", "")]
    assert all(_harmless(t, info, flt) for t, info in harmless)
    assert not any(_harmless(t, info, flt) for t, info in harmful)
