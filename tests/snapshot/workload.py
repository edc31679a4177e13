"""The snapshot tests' database: several tables (many column types, no primary key, a composite key, a
200k-row table) and a writer thread that inserts, updates and deletes in all of them while a snapshot runs."""

from __future__ import annotations

import random
import threading
from typing import Any

from storagecdc.devtools.mariadb import MariaDBServer

SCHEMA = """
CREATE TABLE types (
  id INT PRIMARY KEY,
  u BIGINT UNSIGNED, d DECIMAL(12,3), f FLOAT, g DOUBLE, b BIT(10), y YEAR, dt DATE, dtm DATETIME(3),
  ts TIMESTAMP(6) NULL, tm TIME(2), c CHAR(5), v VARCHAR(40) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(16), bl BLOB, tx TEXT, e ENUM('a','b','c'), s SET('x','y','z'), j JSON
);
CREATE TABLE nopk (a INT, b VARCHAR(20), c DOUBLE);
CREATE TABLE composite (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b));
CREATE TABLE big (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(60) NOT NULL, KEY k (k));
"""
BIG_ROWS = 200_000


def _types_row(i: int, rnd: random.Random) -> tuple[Any, ...]:
    return (
        i, rnd.choice([0, 2**64 - 1, rnd.randrange(2**63)]), f"{rnd.randint(-10**8, 10**8)}.{rnd.randint(0, 999):03d}",
        rnd.choice([1.1, -3.5e10, 0.1]), rnd.random() * 1e6, rnd.randrange(1024), rnd.choice([1901, 2155, 0]),
        rnd.choice(["2024-02-29", "1000-01-01"]), "2023-05-06 07:08:09.123",
        rnd.choice([None, "2021-03-04 05:06:07.654321"]), rnd.choice(["-838:59:59.00", "12:34:56.78"]),
        "ab", rnd.choice(["日本語 ✓", "plain", ""]), "café", b"\x00\x01", bytes([rnd.randrange(256)] * 5),
        bytes(range(rnd.randrange(40))), "t" * rnd.randrange(100), rnd.choice(["a", "c"]), "x,z",
        '{"k": [1, 2, "三"]}',
    )


_TYPES_INSERT = "INSERT INTO types VALUES (" + ", ".join(["%s"] * 21) + ")"


def populate(server: MariaDBServer, db: str) -> None:
    server.execute_script(SCHEMA, database=db)
    rnd = random.Random(1)
    conn = server.connect(db, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.executemany(_TYPES_INSERT, [_types_row(i, rnd) for i in range(1, 301)])
            cur.executemany("INSERT INTO nopk VALUES (%s, %s, %s)", [(i % 7, f"r{i % 5}", i / 3) for i in range(500)])
            cur.executemany("INSERT INTO composite VALUES (%s, %s, %s)",
                            [(i // 10, f"k{i % 10}", i) for i in range(1000)])
            cur.execute(f"INSERT INTO big SELECT seq, seq % 1000, CONCAT('row-', seq) FROM seq_1_to_{BIG_ROWS}")
        conn.commit()
    finally:
        conn.close()


class Writer:
    """Random single-statement transactions in every table until ``stop()``."""

    def __init__(self, server: MariaDBServer, db: str, seed: int = 7) -> None:
        self._server = server
        self._db = db
        self._rnd = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshot-test-writer", daemon=True)
        self.transactions = 0
        self.error: BaseException | None = None

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(30)
        if self.error is not None:
            raise self.error
        return self.transactions

    def _run(self) -> None:
        conn = self._server.connect(self._db, autocommit=True)
        rnd = self._rnd
        next_id = 10_000
        try:
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    op = rnd.randrange(9)
                    if op == 0:
                        next_id += 1
                        cur.execute(_TYPES_INSERT, _types_row(next_id, rnd))
                    elif op == 1:
                        cur.execute("UPDATE types SET v = %s, f = f + 1 WHERE id = %s", ("upd", rnd.randint(1, 300)))
                    elif op == 2:
                        cur.execute("DELETE FROM types WHERE id = %s", (rnd.randint(1, 300),))
                    elif op == 3:
                        cur.execute("INSERT INTO nopk VALUES (%s, %s, %s)", (rnd.randrange(7), "w", rnd.random()))
                    elif op == 4:
                        cur.execute("DELETE FROM nopk WHERE a = %s LIMIT 1", (rnd.randrange(7),))
                    elif op == 5:
                        cur.execute("UPDATE composite SET b = CONCAT(b, 'x'), v = v + 1 WHERE a = %s AND b = %s",
                                    (rnd.randrange(100), f"k{rnd.randrange(10)}"))
                    elif op == 6:
                        cur.execute("INSERT INTO big VALUES (%s, %s, 'new') ON DUPLICATE KEY UPDATE k = k + 1",
                                    (rnd.randint(1, BIG_ROWS + 50_000), rnd.randrange(1000)))
                    elif op == 7:
                        cur.execute("UPDATE big SET c = CONCAT(c, '+') WHERE id = %s", (rnd.randint(1, BIG_ROWS),))
                    else:
                        cur.execute("DELETE FROM big WHERE id = %s", (rnd.randint(1, BIG_ROWS),))
                    self.transactions += 1
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            conn.close()
