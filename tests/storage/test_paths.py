"""Layout keys: TiCDC's own test values, build/parse round trips, hostile names, replay order."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagecdc.model import make_ts
from storagecdc.storage.paths import (
    METADATA_KEY,
    DataDir,
    DateSeparator,
    SchemaFileKey,
    build_data_file_key,
    build_index_content,
    build_index_file_key,
    build_schema_file_key,
    build_syncpoint_key,
    clamp_file_index_digit,
    data_file_name,
    parse_data_file_key,
    parse_index_content,
    parse_index_file_key,
    parse_schema_file_key,
    parse_syncpoint_key,
    replay_order,
)

# TiCDC pkg/sink/cloudstorage/path_test.go TestGenerateDataFilePath (file-index-digit 6, ".json").
TICDC_DATA_PATHS = [
    (DateSeparator.NONE, dt.datetime(2022, 12, 31, 23, 59, 59), 1, "test/table1/5/CDC000001.json"),
    (DateSeparator.NONE, dt.datetime(2022, 12, 31, 23, 59, 59), 2, "test/table1/5/CDC000002.json"),
    (DateSeparator.YEAR, dt.datetime(2022, 12, 31, 23, 59, 59), 1, "test/table1/5/2022/CDC000001.json"),
    (DateSeparator.YEAR, dt.datetime(2023, 1, 1, 0, 0, 20), 2, "test/table1/5/2023/CDC000002.json"),
    (DateSeparator.MONTH, dt.datetime(2022, 12, 31, 23, 59, 59), 1, "test/table1/5/2022-12/CDC000001.json"),
    (DateSeparator.MONTH, dt.datetime(2023, 1, 1, 0, 0, 20), 1, "test/table1/5/2023-01/CDC000001.json"),
    (DateSeparator.DAY, dt.datetime(2022, 12, 31, 23, 59, 59), 2, "test/table1/5/2022-12-31/CDC000002.json"),
    (DateSeparator.DAY, dt.datetime(2023, 1, 1, 0, 0, 20), 1, "test/table1/5/2023-01-01/CDC000001.json"),
]


@pytest.mark.parametrize(("sep", "when", "index", "expected"), TICDC_DATA_PATHS)
def test_ticdc_data_paths(sep: DateSeparator, when: dt.datetime, index: int, expected: str) -> None:
    key = build_data_file_key(DataDir("test", "table1", 5, None, sep.format(when)), index, "json", digits=6)
    assert key == expected
    parsed = parse_data_file_key(key, sep)
    assert parsed is not None
    assert (parsed.dir.schema, parsed.dir.table, parsed.dir.version, parsed.index) == ("test", "table1", 5, index)
    assert parsed.name == expected.rsplit("/", 1)[1]


def test_date_from_commit_ts_is_utc() -> None:
    ts = make_ts(int(dt.datetime(2022, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp() * 1000), 7)
    assert DateSeparator.DAY.for_commit_ts(ts) == "2022-12-31"
    assert DateSeparator.MONTH.for_commit_ts(ts) == "2022-12"
    assert DateSeparator.YEAR.for_commit_ts(ts) == "2022"
    assert DateSeparator.NONE.for_commit_ts(ts) == ""


@pytest.mark.parametrize(("digits", "width"), [(6, 6), (20, 20), (13, 13), (5, 20), (21, 20), (0, 20)])
def test_file_index_digit_clamp(digits: int, width: int) -> None:
    assert clamp_file_index_digit(digits) == width
    assert data_file_name(7, "csv", digits=digits) == "CDC" + "7".rjust(width, "0") + ".csv"


def test_default_width_is_20_and_split_tables() -> None:
    assert data_file_name(1, "csv") == "CDC00000000000000000001.csv"
    d = DataDir("db", "t", 433305438660591626, 12, "2024-02-29")
    key = build_data_file_key(d, 3, "parquet", dispatcher_id="7f3a-01", digits=6)
    assert key == "db/t/433305438660591626/12/2024-02-29/CDC_7f3a-01_000003.parquet"
    parsed = parse_data_file_key(key)
    assert parsed is not None
    assert (parsed.dir, parsed.index, parsed.ext, parsed.dispatcher_id) == (d, 3, "parquet", "7f3a-01")
    assert build_index_file_key(d, dispatcher_id="7f3a-01") == \
        "db/t/433305438660591626/12/2024-02-29/meta/CDC_7f3a-01.index"
    assert build_index_file_key(d) == "db/t/433305438660591626/12/2024-02-29/meta/CDC.index"
    index = parse_index_file_key(build_index_file_key(d, dispatcher_id="7f3a-01"))
    assert index is not None
    assert (index.dir, index.dispatcher_id) == (d, "7f3a-01")


def test_index_content() -> None:
    assert build_index_content("CDC000005.json") == b"CDC000005.json\n"
    assert parse_index_content(b"CDC000005.json\n") == ("CDC000005.json", 5)
    assert parse_index_content(b"CDC_ab-1_00000000000000000012.csv\n") == ("CDC_ab-1_00000000000000000012.csv", 12)


# TiCDC TestIsSchemaFile (the two-segment "meta/schema_..." case has no database and is not ours).
@pytest.mark.parametrize(("key", "expected"), [
    ("schema2/meta/schema_123_0123456789.json", SchemaFileKey("schema2", "", 123, 123456789)),
    ("schema1/table1/meta/schema_123_0123456789.json", SchemaFileKey("schema1", "table1", 123, 123456789)),
    ("meta/meta/schema_123_0123456789.json", SchemaFileKey("meta", "", 123, 123456789)),
    ("a/meta/schema_012345678_.json", None),
    ("a/meta/schema_012345678.json", None),
    ("a/meta/schema_123_012345678.json", None),
    ("a/meta/schema_123_012a4567c9.json", None),
    ("a/meta/schema_abc_0123456789.json", None),
    ("a/meta/schema_123_0123456789.txt", None),
    ("a/meta/schema_123_0123456789.json ", None),
    ("meta/schema1/schema_123_0123456789.json", None),
])
def test_schema_file_keys(key: str, expected: SchemaFileKey | None) -> None:
    assert parse_schema_file_key(key) == expected


def test_schema_file_key_golden() -> None:
    assert build_schema_file_key("schema1", "", 100, 3233644819) == "schema1/meta/schema_100_3233644819.json"
    assert build_schema_file_key("schema1", "table1", 100, 3752767265) == \
        "schema1/table1/meta/schema_100_3752767265.json"
    assert build_schema_file_key("s", "t", 1, 7) == "s/t/meta/schema_1_0000000007.json"


def test_data_keys_of_other_shapes_are_not_data() -> None:
    assert parse_data_file_key(METADATA_KEY) is None
    assert parse_data_file_key("db/t/meta/schema_1_0000000001.json") is None
    assert parse_data_file_key("db/t/notaversion/2024-01-01/CDC000001.csv") is None
    assert parse_data_file_key("db/t/5/2024-01/CDC000001.csv", DateSeparator.DAY) is None
    assert parse_data_file_key("db/t/5/CDC000001.csv", DateSeparator.DAY) is None
    assert parse_index_file_key("db/t/5/2024-01-01/CDC.index") is None


def test_syncpoint_keys() -> None:
    assert build_syncpoint_key(42) == "_storagecdc/syncpoint/00000000000000000042.json"
    assert parse_syncpoint_key(build_syncpoint_key(433305438660591626)) == 433305438660591626
    assert parse_syncpoint_key("_storagecdc/syncpoint/42.json") is None


def test_hostile_names_stay_inside_their_segments() -> None:
    d = DataDir("..", "a/b", 1, None, "2024-01-01")
    key = build_data_file_key(d, 1, "csv")
    assert key.startswith("%2E%2E/a%2Fb/1/2024-01-01/")
    parsed = parse_data_file_key(key)
    assert parsed is not None
    assert parsed.dir == d
    schema_key = build_schema_file_key("metadata", "", 5, 1)
    assert schema_key.split("/")[0] != METADATA_KEY
    assert parse_schema_file_key(schema_key) == SchemaFileKey("metadata", "", 5, 1)


@settings(max_examples=300, deadline=None)
@given(schema=st.text(max_size=64), table=st.text(max_size=64), version=st.integers(0, 2**64 - 1),
       partition=st.none() | st.integers(0, 2**63), index=st.integers(1, 10**6),
       dispatcher=st.none() | st.from_regex(r"[0-9a-f-]{1,12}", fullmatch=True))
def test_build_parse_round_trip(schema: str, table: str, version: int, *, partition: int | None, index: int,
                                dispatcher: str | None) -> None:
    d = DataDir(schema, table, version, partition, "2024-05-06")
    key = build_data_file_key(d, index, "csv", dispatcher_id=dispatcher)
    assert all(seg not in ("", ".", "..") for seg in key.split("/"))
    assert len(key.split("/")) == (6 if partition is not None else 5)
    parsed = parse_data_file_key(key)
    assert parsed is not None
    assert (parsed.dir, parsed.index, parsed.dispatcher_id) == (d, index, dispatcher)
    schema_key = build_schema_file_key(schema, table, version, 99)
    if table:
        assert parse_schema_file_key(schema_key) == SchemaFileKey(schema, table, version, 99)


def test_replay_order_puts_schema_first_and_versions_in_order() -> None:
    s1 = SchemaFileKey("db", "t", 10, 1)
    s2 = SchemaFileKey("db", "t", 20, 2)
    items = [
        parse_data_file_key("db/t/20/2024-01-01/CDC000001.csv"),
        parse_data_file_key("db/t/10/2024-01-02/CDC000001.csv"),
        s2,
        parse_data_file_key("db/t/10/2024-01-01/CDC000002.csv"),
        s1,
        parse_data_file_key("db/t/10/2024-01-01/CDC000001.csv"),
    ]
    assert all(i is not None for i in items)
    ordered = sorted(items, key=replay_order)  # type: ignore[arg-type]
    assert ordered[0] == s1
    assert [getattr(o, "name", None) for o in ordered[1:4]] == ["CDC000001.csv", "CDC000002.csv",
                                                                  "CDC000001.csv"]
    assert ordered[4] == s2
