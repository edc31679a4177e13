"""Reading a changefeed's output back with readers nobody here wrote: DuckDB and pyarrow.

``Output.fetch(store, dest)`` copies every object of a store into ``dest`` (keys checked first: nothing may
land outside it), parses the layout with ``storage.paths`` and the schema files with ``json``; the readers
below take one data file and return its records as plain tuples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from storagecdc.storage import ObjectStore, parse_data_file_key, parse_schema_file_key, replay_order
from storagecdc.storage.paths import DataFileKey
from tests.e2e.expected import VersionKey

CSV_META = ("op", "table", "schema", "commit_ts")
"""The metadata fields of a CSV record written with ``include-commit-ts``."""


@dataclass(slots=True)
class Output:
    """A store's objects on local disk, with the layout parsed."""

    root: Path
    objects: dict[str, bytes] = field(default_factory=dict)
    data_files: dict[VersionKey, list[Path]] = field(default_factory=dict)
    schema_docs: dict[VersionKey, dict[str, Any]] = field(default_factory=dict)
    """Table schema files (with columns) by (database, table, TableVersion), as JSON."""

    @classmethod
    def fetch(cls, store: ObjectStore, dest: Path) -> Output:
        out = cls(dest)
        parsed: list[tuple[DataFileKey, Path]] = []
        for info in store.list():
            key = info.key
            segments = key.split("/")
            assert all(s not in ("", ".", "..") and "\\" not in s for s in segments), key
            data = out.objects[key] = store.get(key)
            path = dest.joinpath(*segments)
            assert path.resolve().is_relative_to(dest.resolve()), key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            data_key = parse_data_file_key(key)
            if data_key is not None:
                parsed.append((data_key, path))
            elif parse_schema_file_key(key) is not None:
                doc = json.loads(data)
                if doc["TableColumns"]:
                    out.schema_docs[(doc["Schema"], doc["Table"], doc["TableVersion"])] = doc
        for data_key, path in sorted(parsed, key=lambda kp: replay_order(kp[0])):
            d = data_key.dir
            out.data_files.setdefault((d.schema, d.table, d.version), []).append(path)
        return out

    def column_names(self, key: VersionKey) -> list[str]:
        return [c["ColumnName"] for c in self.schema_docs[key]["TableColumns"]]


# --- CSV ---------------------------------------------------------------------------------------------------


def csv_duckdb(path: Path, names: list[str]) -> list[tuple[str | None, ...]]:
    """TiCDC's CSV dialect in DuckDB: ``,`` / ``"`` doubled / ``\\N`` / CRLF, every column as text."""
    columns = ", ".join(f"{_sql_text(n)}: 'VARCHAR'" for n in [*CSV_META, *names])
    query = (
        f"SELECT * FROM read_csv(?, delim = ',', quote = '\"', escape = '\"', nullstr = '\\N', "
        f"new_line = '\\r\\n', header = false, auto_detect = false, allow_quoted_nulls = false, "
        f"columns = {{{columns}}})"
    )
    return [tuple(r) for r in duckdb.execute(query, [str(path)]).fetchall()]


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def csv_pyarrow(path: Path, names: list[str]) -> list[tuple[str | None, ...]]:
    all_names = [*CSV_META, *names]
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=all_names),
        parse_options=pacsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in all_names},
            null_values=["\\N"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return [tuple(r.values()) for r in table.to_pylist()]


# --- canal-json ----------------------------------------------------------------------------------------------

CanalRecord = tuple[str, int, dict[str, str | None], dict[str, str | None] | None]
"""(type, _tidb.commitTs, data[0], old[0] or None)."""


def canal_duckdb(path: Path) -> list[CanalRecord]:
    query = (
        "SELECT type, _tidb, data, old FROM read_json(?, format = 'newline_delimited', columns = "
        "{type: 'VARCHAR', _tidb: 'STRUCT(commitTs UBIGINT)', data: 'JSON', old: 'JSON'})"
    )
    out: list[CanalRecord] = []
    for kind, tidb, data, old in duckdb.execute(query, [str(path)]).fetchall():
        rows = json.loads(data)
        olds = json.loads(old) if old is not None else None
        assert len(rows) == 1 and (olds is None or len(olds) == 1)
        out.append((kind, tidb["commitTs"], rows[0], olds[0] if olds else None))
    return out


def canal_pyarrow(path: Path, names: list[str]) -> list[CanalRecord]:
    row = pa.list_(pa.struct([(n, pa.string()) for n in names]))
    schema = pa.schema(
        [("type", pa.string()), ("_tidb", pa.struct([("commitTs", pa.uint64())])), ("data", row), ("old", row)]
    )
    table = pajson.read_json(
        path, parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    )
    return [
        (r["type"], r["_tidb"]["commitTs"], r["data"][0], r["old"][0] if r["old"] else None) for r in table.to_pylist()
    ]


# --- Parquet -------------------------------------------------------------------------------------------------


def parquet_duckdb(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rel = con.read_parquet(str(path))
        return list(rel.columns), [tuple(r) for r in rel.fetchall()]
    finally:
        con.close()


def parquet_pyarrow(path: Path) -> tuple[pa.Schema, list[dict[str, Any]]]:
    table = pq.read_table(path)
    return table.schema, table.to_pylist()
