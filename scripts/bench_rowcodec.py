"""Micro-benchmark of the row-image decoder on synthetic rows events (no server needed).

Rows are encoded with the tests' independent encoder (tests/source/rowcodec/encoder.py) into event-sized
bodies (about 8 KiB, as servers write them) and decoded with ``compile_decoder``. Workloads:

* narrow: sysbench's table (INT, INT, CHAR(120), CHAR(60), utf8mb4)
* wide: 14 columns (BIGINT UNSIGNED, INT, INT UNSIGNED, DECIMAL(18,4), DOUBLE, DATETIME(6), TIMESTAMP(6),
  DATE, VARCHAR utf8mb4, TEXT, ENUM, JSON as MariaDB's LONGTEXT, BLOB, nullable INT NULL every other row)
* update: full-row UPDATE images (before and after) of the wide table

With ``--peer`` the same event bytes also go through mysql-replication's own row parser
(scripts/bench_rowcodec_peer.py: real TABLE_MAP and WRITE/UPDATE_ROWS_V2 events fed to its packet wrapper,
no server) and the ratio is printed.

Usage: python scripts/bench_rowcodec.py [--rows N] [--peer]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from tests.source.rowcodec.encoder import enc_image  # noqa: E402

from storagecdc.source.binlog import field_types as ft  # noqa: E402
from storagecdc.source.binlog.rowcodec import ColumnSpec, compile_decoder  # noqa: E402

EVENT_BYTES = 8192

NARROW = (
    ColumnSpec(ft.LONG, name="id"),
    ColumnSpec(ft.LONG, name="k"),
    ColumnSpec(ft.STRING, 480, encoding="utf-8", name="c"),
    ColumnSpec(ft.STRING, 240, encoding="utf-8", name="pad"),
)

WIDE = (
    ColumnSpec(ft.LONGLONG, unsigned=True, name="id"),
    ColumnSpec(ft.LONG, name="a"),
    ColumnSpec(ft.LONG, unsigned=True, name="b"),
    ColumnSpec(ft.NEWDECIMAL, 18 << 8 | 4, name="price"),
    ColumnSpec(ft.DOUBLE, 8, name="ratio"),
    ColumnSpec(ft.DATETIME2, 6, name="created"),
    ColumnSpec(ft.TIMESTAMP2, 6, name="updated"),
    ColumnSpec(ft.DATE, name="day"),
    ColumnSpec(ft.VARCHAR, 1020, encoding="utf-8", name="name"),
    ColumnSpec(ft.BLOB, 2, encoding="utf-8", name="note"),
    ColumnSpec(ft.ENUM, 1, elems=("new", "paid", "shipped", "done"), name="state"),
    ColumnSpec(ft.BLOB, 4, encoding="utf-8", name="doc"),
    ColumnSpec(ft.BLOB, 2, name="data"),
    ColumnSpec(ft.LONG, name="maybe"),
)


def _digits(rng: random.Random, groups: int) -> str:
    return "-".join(str(rng.randrange(10**10, 10**11)) for _ in range(groups))


def narrow_row(rng: random.Random, i: int) -> list[Any]:
    return [i, rng.randrange(1, 200000), _digits(rng, 10).encode(), _digits(rng, 5).encode()]


def wide_row(rng: random.Random, i: int) -> list[Any]:
    created = datetime.fromtimestamp(1_700_000_000 + rng.randrange(10**7))
    price = Decimal(rng.randrange(10**12)) / 10000
    return [
        i,
        rng.randrange(-(2**31), 2**31),
        rng.randrange(2**32),
        price,
        rng.random() * 1000,
        (created.year, created.month, created.day, created.hour, created.minute, created.second, rng.randrange(10**6)),
        (1_700_000_000 + rng.randrange(10**7), rng.randrange(10**6)),
        (created.year, created.month, created.day),
        f"name-{i}-héllo-{rng.randrange(10**6)}".encode(),
        ("some longer text about row " + str(i) + " " * rng.randrange(40)).encode(),
        rng.randrange(1, 5),
        f'{{"id": {i}, "tags": ["a", "b"], "ok": true}}'.encode(),
        rng.randbytes(32),
        None if i % 2 else rng.randrange(1000),
    ]


def events(specs: tuple[ColumnSpec, ...], images: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    cur = bytearray()
    for img in images:
        cur += img
        if len(cur) >= EVENT_BYTES:
            out.append(bytes(cur))
            cur = bytearray()
    if cur:
        out.append(bytes(cur))
    return out


def bench(
    name: str, specs: tuple[ColumnSpec, ...], bodies: list[bytes], nrows: int, update: bool, *, peer: bool
) -> float:
    present = (1 << len(specs)) - 1
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        count = 0
        for body in bodies:
            decoder = compile_decoder(specs)
            if update:
                before, _after = decoder.decode_update_rows(body, 0, len(body), present, present)
                count += len(before)
            else:
                count += len(decoder.decode_rows(body, 0, len(body), present))
        best = min(best, time.perf_counter() - t0)
        assert count == nrows, (count, nrows)
    rate = nrows / best
    line = f"{name:8s} {nrows:8d} rows  {best:6.3f} s  {rate:10,.0f} rows/s"
    if peer:
        from bench_rowcodec_peer import peer_rate  # noqa: PLC0415 (test-only dependency)

        theirs, _ = peer_rate(specs, bodies, nrows, update)
        line += f"   mysql-replication {theirs:9,.0f} rows/s   ratio {rate / theirs:5.1f}x"
    print(line)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--peer", action="store_true", help="also time mysql-replication's row parser")
    args = parser.parse_args()
    rng = random.Random(42)
    n = args.rows
    cols_n = [(s.type_code, s.meta, s.unsigned) for s in NARROW]
    cols_w = [(s.type_code, s.meta, s.unsigned) for s in WIDE]
    all_n = (1 << len(NARROW)) - 1
    all_w = (1 << len(WIDE)) - 1
    narrow = events(NARROW, [enc_image(cols_n, narrow_row(rng, i), all_n) for i in range(n)])
    wide_rows = [wide_row(rng, i) for i in range(n)]
    wide = events(WIDE, [enc_image(cols_w, r, all_w) for r in wide_rows])
    updates = events(
        WIDE,
        [enc_image(cols_w, r, all_w) + enc_image(cols_w, wide_row(rng, i), all_w) for i, r in enumerate(wide_rows)],
    )
    bench("narrow", NARROW, narrow, n, False, peer=args.peer)
    bench("wide", WIDE, wide, n, False, peer=args.peer)
    bench("update", WIDE, updates, n, True, peer=args.peer)


if __name__ == "__main__":
    main()
