from __future__ import annotations

import pytest

from storagecdc.errors import ConfigError
from storagecdc.source.gtid import MariaDBGtidPos, MySQLGtidSet, parse_gtid_set

U1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
U2 = "a9b8c7d6-0000-1111-2222-333344445555"


def test_mysql_set_round_trip_and_merge() -> None:
    s = MySQLGtidSet.parse(f"{U2}:1-3,{U1.upper()}:1-5:7:9-10")
    assert str(s) == f"{U1}:1-5:7:9-10,{U2}:1-3"
    s.add(U1, "", 6)
    s.add(U1, "", 8)
    assert str(s) == f"{U1}:1-10,{U2}:1-3"


def test_mysql_tagged_gtids() -> None:
    s = MySQLGtidSet.parse(f"{U1}:1-2:tag_a:1-4")
    s.add(U1, "tag_a", 5)
    assert str(s) == f"{U1}:1-2,{U1}:tag_a:1-5".replace(f",{U1}:", ":", 1)


def test_sid_block_layout() -> None:
    block = MySQLGtidSet.parse(f"{U1}:1-5").encode_sid_block()
    assert block[:8] == (1).to_bytes(8, "little")
    assert block[8:24] == bytes.fromhex(U1.replace("-", ""))
    assert block[24:32] == (1).to_bytes(8, "little")
    assert block[32:48] == (1).to_bytes(8, "little") + (6).to_bytes(8, "little")


def test_mariadb_position() -> None:
    p = parse_gtid_set("0-1-42,1-2-7")
    assert isinstance(p, MariaDBGtidPos)
    p.add(0, 1, 43)
    assert str(p) == "0-1-43,1-2-7"


@pytest.mark.parametrize("bad", [f"{U1}:0-3", f"{U1}:5-3", "zz:1-2", f"{U1}:x-y", "0-1"])
def test_bad_sets_name_the_element(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_gtid_set(bad)
