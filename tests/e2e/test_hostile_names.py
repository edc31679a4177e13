"""Hostile identifiers end to end: a binlog written by the private MariaDB for a database ``e2e/hostile 名``
with tables ``..``, ``.``, ``a/b``, ``名前 表``, `` x`` (MariaDB refuses a trailing space), one with a
backtick and both quotes, ``metadata``, ``trailing.`` and ``100%``, and a column named ``v "x",y``,
replicated to a local directory and to moto's S3 server.

Every key stays inside the prefix and is a safe key; key segments decode (``parse_data_file_key``) to the
real names; the schema files carry the real names; every table's rows read back from its own files with
DuckDB and pyarrow equal to the decoder's records; ``storagecdc ls --json`` lists the real names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from storagecdc.cli import main as cli_main
from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.runtime.replicate import replicate
from storagecdc.storage import check_key, open_store, parse_data_file_key, parse_schema_file_key
from tests.e2e.checks import CHECKS
from tests.e2e.expected import Expected, decode
from tests.e2e.output import Output

DATABASE = "e2e/hostile 名"
DOTTED_DATABASE = "e2e.dotted"
TABLES = ["..", ".", "a/b", "名前 表", " x", "q`\"'", "metadata", "trailing.", "100%"]
COLUMN = 'v "x",y'
CASES = [
    pytest.param("local", "protocol=csv&include-commit-ts=true", id="local-csv"),
    pytest.param("local", "protocol=canal-json&enable-tidb-extension=true", id="local-canal-json"),
    pytest.param("moto", "protocol=parquet", id="moto-parquet", marks=pytest.mark.s3),
    pytest.param("moto", "protocol=csv&include-commit-ts=true", id="moto-csv", marks=pytest.mark.s3),
]


def ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def script(database: str, tables: list[str]) -> str:
    db = ident(database)
    lines = [f"CREATE DATABASE {db}", f"USE {db}"]
    for n, table in enumerate(tables):
        t = ident(table)
        lines += [
            f"CREATE TABLE {t} (id INT PRIMARY KEY, {ident(COLUMN)} VARCHAR(40), d DATETIME(3))",
            f"INSERT INTO {t} VALUES (1, 'one \"quoted\", and\\nnewline', '2024-01-02 03:04:05.678'), "
            f"(2, 'table {n}', NULL), (3, NULL, '1999-12-31 23:59:59.000')",
            f"UPDATE {t} SET {ident(COLUMN)} = CONCAT({ident(COLUMN)}, ' upd') WHERE id = 2",
            f"UPDATE {t} SET id = 30 WHERE id = 3",
            f"DELETE FROM {t} WHERE id = 1",
        ]
    return ";\n".join(lines) + ";"


def binlog_of(mariadb: MariaDBServer, database: str, tables: list[str]) -> Path:
    """The binlog file holding exactly one script's events (FLUSH BINARY LOGS before and after)."""
    mariadb.flush_logs()
    current = mariadb.binlog_files()[-1]
    try:
        mariadb.execute_script(script(database, tables))
        mariadb.flush_logs()
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS {ident(database)}")
    assert mariadb.binlog_files()[-2] == current
    return current


@pytest.fixture(scope="module")
def hostile_binlog(mariadb: MariaDBServer) -> tuple[Path, Expected]:
    path = binlog_of(mariadb, DATABASE, TABLES)
    return path, decode(path)


@pytest.mark.mariadb
@pytest.mark.parametrize(("kind", "query"), CASES)
def test_hostile_names_replicate_list_and_read_back(
    kind: str,
    query: str,
    *,
    hostile_binlog: tuple[Path, Expected],
    store_uri_factory: Callable[[str], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, expected = hostile_binlog
    names = {(DATABASE, t) for t in TABLES}
    assert {(s, t) for s, t, _ in expected.records} == names  # the decoder saw every table's rows

    base = store_uri_factory(kind)
    uri = f"{base}{'&' if '?' in base else '?'}{query}"
    replicate(load_config(None, source=str(source), sink_uri=uri))
    if kind == "local":
        prefix_dir = Path(base.removeprefix("file://").partition("?")[0])
        outside = [p for p in prefix_dir.parent.rglob("*") if p.is_file() and not p.is_relative_to(prefix_dir)]
        assert outside == []
    store = open_store(uri)
    try:
        out = Output.fetch(store, tmp_path / "out")
    finally:
        store.close()

    for key in out.objects:
        check_key(key)
        assert key.isprintable() and " " not in key and "`" not in key and '"' not in key, key

    data_names = {(d.dir.schema, d.dir.table) for key in out.objects if (d := parse_data_file_key(key))}
    assert data_names == names
    schema_keys = [s for key in out.objects if (s := parse_schema_file_key(key))]
    assert {(s.schema, s.table) for s in schema_keys if s.table} == names
    assert {s.schema for s in schema_keys} == {DATABASE}
    docs = [json.loads(out.objects[key]) for key in out.objects if parse_schema_file_key(key)]
    assert {(doc["Schema"], doc["Table"]) for doc in docs if doc["Table"]} == names
    assert all(doc["Schema"] == DATABASE for doc in docs)

    protocol = query.partition("&")[0].removeprefix("protocol=")
    assert set(out.data_files) == set(expected.records)
    for version, records in expected.records.items():
        assert out.column_names(version) == ["id", COLUMN, "d"]
        CHECKS[protocol](out, version, expected.tables[version], records)

    capsys.readouterr()
    assert cli_main(["ls", "--json", uri]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in listing["databases"]] == [DATABASE]
    assert {t["name"] for t in listing["databases"][0]["tables"]} == set(TABLES)


@pytest.mark.mariadb
def test_database_name_with_a_dot_replicates(mariadb: MariaDBServer, tmp_path: Path) -> None:
    source = binlog_of(mariadb, DOTTED_DATABASE, ["t"])
    replicate(load_config(None, source=str(source), sink_uri=f"{(tmp_path / 'out').as_uri()}?protocol=csv"))
    keys = {
        k
        for p in (tmp_path / "out").rglob("*")
        if p.is_file() and (k := parse_data_file_key(p.relative_to(tmp_path / "out").as_posix()))
    }
    assert {(k.dir.schema, k.dir.table) for k in keys} == {(DOTTED_DATABASE, "t")}
