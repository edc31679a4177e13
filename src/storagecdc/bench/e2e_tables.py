"""Part 3 of ``bench e2e``: 10,000 tables of small transactions, and how many objects they cost on S3.

``tables`` tables (two INT columns) are created before the replicator starts (it learns them from the
binlog's full row metadata). One client then commits ``txn_rate`` transactions per second for ``seconds``,
each inserting 1-3 rows into each of ``statements_per_txn`` random tables (one multi-statement round trip
per transaction), while a live ``storagecdc run`` replicates to Parquet on moto's S3 server with the sink
options a user with many small tables would set (``TABLES_SINK_OPTIONS``).

After the load the bench waits until the replicator has read every row (its ``storagecdc_rows_total``
metric), then stops it with SIGINT (it writes what it still buffers and exits), and counts: data objects and
all objects (listing), PUT, GET and HEAD requests under the prefix (moto's request log), per 1,000 rows;
against a writer that writes one file per table per second, i.e. the distinct (table, second of commit)
pairs of the load. Caught up: the replicator read every row and reported all of them at exit.
"""

from __future__ import annotations

import random
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from storagecdc.bench.decode import BenchError
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.devtools.s3servers import ACCESS_KEY, SECRET_KEY, free_port
from storagecdc.storage import open_store

TABLES_SINK_OPTIONS = "min-file-size=8MiB&max-flush-interval=60s"
"""What a user with 10,000 small tables sets: files of a cold table at most once a minute, busy tables still
every ``flush-interval`` (5 s)."""
CATCH_UP_LIMIT_S = 150.0
"""How long the bench waits by default after the load for the replicator to read every row."""


@dataclass(frozen=True, slots=True)
class TablesLoad:
    tables: int
    txn_rate: int
    seconds: float
    statements_per_txn: int


@dataclass(frozen=True, slots=True)
class TablesResult:
    tables: int
    transactions: int
    rows: int
    statements: int
    """Table changes (one INSERT of 1-3 rows into one table each)."""
    replicated_rows: int
    """Rows the replicator reported when stopped: fewer than ``rows`` when it had not caught up."""
    seconds: float
    catch_up_seconds: float | None
    """From the end of the load until the replicator had read every row (None: not within the limit)."""
    catch_up_limit: float
    stop_seconds: float
    """From SIGINT until the replicator had written what it buffered and exited."""
    sink_options: str
    data_objects: int
    all_objects: int
    puts: int
    gets: int
    heads: int
    per_second_files: int
    """Files a writer that writes one file per table per second would write: distinct (table, second)."""

    def per_k(self, count: int) -> float:
        """Per 1,000 replicated rows (the rows the objects hold)."""
        return count * 1000 / self.replicated_rows if self.replicated_rows else 0.0

    @property
    def baseline_per_k(self) -> float:
        return self.per_second_files * 1000 / self.rows if self.rows else 0.0

    @property
    def ratio(self) -> float:
        """Data objects per 1,000 rows over one-file-per-table-per-second's (the target: at most 0.1)."""
        return self.per_k(self.data_objects) / self.baseline_per_k if self.baseline_per_k else 0.0

    @property
    def caught_up(self) -> bool:
        return self.catch_up_seconds is not None and self.replicated_rows == self.rows


def create_tables(server: MariaDBServer, count: int) -> None:
    statements = ["DROP DATABASE IF EXISTS bench_tables", "CREATE DATABASE bench_tables"]
    statements += [f"CREATE TABLE bench_tables.t{i:05d} (id INT PRIMARY KEY, v INT NOT NULL)" for i in range(count)]
    server.execute_script(";\n".join(statements))


def rows_read(metrics_url: str) -> int | None:
    """The replicator's ``storagecdc_rows_total`` summed over tables (None while it does not answer)."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return None
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("storagecdc_rows_total{"))


def request_counts(log: bytes, bucket: str, prefix: str) -> dict[str, int]:
    """Requests for keys under ``prefix`` in moto's request log, by method."""
    counts = {}
    for method in ("PUT", "GET", "HEAD"):
        needle = f'"{method} /{bucket}/{prefix}/'.encode()
        counts[method] = sum(1 for line in log.splitlines() if needle in line)
    return counts


@dataclass(slots=True)
class Load:
    """What the client committed."""

    transactions: int = 0
    rows: int = 0
    statements: int = 0
    seconds: float = 0.0


def run_load(server: MariaDBServer, load: TablesLoad, pace: Callable[[float, float], Iterator[int]],
             pairs: set[tuple[int, int]]) -> Load:
    """Commit the transactions; ``pairs`` gets every (table, second of commit)."""
    rng = random.Random(7)
    next_id = [0] * load.tables
    done = Load()
    conn = server.connect("bench_tables", autocommit=False)
    try:
        with conn.cursor() as cur:
            began = time.monotonic()
            for _ in pace(load.txn_rate, load.seconds):
                touched = rng.sample(range(load.tables), load.statements_per_txn)
                parts = []
                for table in touched:
                    count = rng.randint(1, 3)
                    first = next_id[table]
                    next_id[table] += count
                    parts.append(f"INSERT INTO t{table:05d} VALUES "
                                 + ",".join(f"({first + i},{i})" for i in range(count)))
                    done.rows += count
                parts.append("COMMIT")
                cur.execute(";".join(parts))
                while cur.nextset():
                    pass
                done.transactions += 1
                done.statements += len(touched)
                second = int(time.time())
                pairs.update((table, second) for table in touched)
            done.seconds = time.monotonic() - began
    finally:
        conn.close()
    return done


def wait_read(metrics_url: str, rows: int, limit: float) -> float | None:
    """Seconds until the replicator has read ``rows`` rows (None: not within ``limit``)."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        read = rows_read(metrics_url)
        if read is not None and read >= rows:
            return time.monotonic() - began
        time.sleep(1.0)
    return None


def metrics_port() -> tuple[int, str]:
    port = free_port()
    return port, f"http://127.0.0.1:{port}/metrics"


def count_objects(store_uri: str) -> tuple[int, int]:
    """(data objects, all objects) under a store URI (keys from the bench's moto)."""
    store = open_store(store_uri, {"access-key": ACCESS_KEY, "secret-access-key": SECRET_KEY})
    try:
        keys = [info.key for info in store.list()]
    finally:
        store.close()
    if not keys:
        raise BenchError(f"nothing was written under {store_uri.split('?', maxsplit=1)[0]}")
    return sum(1 for key in keys if key.endswith(".parquet")), len(keys)


def write_tables_report(t: TablesResult, out: TextIO) -> None:
    caught = (f"it read every row {t.catch_up_seconds:.0f} s after the load ended" if t.catch_up_seconds is not None
              else f"it had **not** read every row {t.catch_up_limit:.0f} s after the load")
    out.write(f"\n{t.tables:,} tables, live source to Parquet on moto's S3 server, sink options `{t.sink_options}`: "
              f"{t.transactions:,} transactions of {t.statements // max(1, t.transactions)} tables x 1-3 rows "
              f"({t.statements:,} table changes, {t.rows:,} rows) over {t.seconds:.0f} s; {caught}, wrote the rest "
              f"in {t.stop_seconds:.0f} s after SIGINT and reported {t.replicated_rows:,} rows\n\n")
    out.write("|  | count | per 1,000 rows |\n|---|---|---|\n")
    for name, count in (("data objects", t.data_objects), ("all objects (schema, index, checkpoint...)", t.all_objects),
                        ("PUT requests (moto's log)", t.puts), ("GET requests", t.gets),
                        ("HEAD requests", t.heads)):
        out.write(f"| {name} | {count:,} | {t.per_k(count):.1f} |\n")
    out.write(f"| one file per table per second (per 1,000 rows written) | {t.per_second_files:,} | "
              f"{t.baseline_per_k:.1f} |\n")
    out.write(f"\ndata objects per 1,000 rows ÷ one-file-per-table-per-second: {t.ratio:.3f} "
              f"(target at most 0.1); caught up: {'yes' if t.caught_up else 'no'}\n")
