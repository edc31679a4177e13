#!/usr/bin/env python3
"""Generate the demo's bundled binlog from a private MariaDB, with the server's final table contents.

    python scripts/make_demo_binlog.py            # writes src/storagecdc/data/demo-binlog.000001
                                                  # and src/storagecdc/data/demo-expected.json

The workload is a small shop: several tables and types, DML between DDL (ADD/DROP/MODIFY COLUMN, RENAME,
TRUNCATE, DROP/CREATE), a table without a primary key and a PK-changing update. ``storagecdc demo``
replicates the binlog, replays it and compares the result with the JSON file, which holds every table's
rows as the server returned them at the end (values as canonical text, see ``canonical`` below).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from storagecdc.demo import canonical
from storagecdc.devtools.mariadb import MariaDBServer

DATA = Path(__file__).resolve().parents[1] / "src" / "storagecdc" / "data"

WORKLOAD = """
SET time_zone = '+00:00';
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE shop;
CREATE TABLE customers (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  email VARCHAR(128),
  balance DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  vip BOOLEAN NOT NULL DEFAULT FALSE,
  created DATETIME(6) NOT NULL
);
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
  tags SET('gift','express','fragile'),
  total DECIMAL(14,2) NOT NULL,
  placed_at TIMESTAMP(3) NULL,
  note TEXT
);
CREATE TABLE items (
  order_id BIGINT UNSIGNED NOT NULL,
  line SMALLINT UNSIGNED NOT NULL,
  sku CHAR(12) NOT NULL,
  qty SMALLINT NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  attrs JSON,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE audit_log (at DATETIME NOT NULL, who VARCHAR(32), what VARCHAR(255), raw VARBINARY(32));
"""


def dml(round_no: int) -> str:
    """One round of shop traffic: new customers and orders, payments, shipping, a cancellation."""
    base = round_no * 10
    parts = []
    for i in range(1, 11):
        cid = base + i
        parts.append(
            f"INSERT INTO customers VALUES ({cid}, 'Customer {cid} é✓😀', 'c{cid}@example.com', {cid * 3}.50, "
            f"{int(cid % 7 == 0)}, '2026-01-{(cid % 27) + 1:02d} 10:{cid % 60:02d}:00.{cid:06d}');"
        )
        oid = 1000 + cid
        tags = "NULL" if cid % 3 else "'gift,express'"
        note = "NULL" if cid % 2 else "'leave at door'"
        parts.append(
            f"INSERT INTO orders VALUES ({oid}, {cid}, 'new', {tags}, {cid * 11}.99, "
            f"'2026-02-0{(cid % 9) + 1} 12:00:{cid % 60:02d}.{cid % 1000:03d}', {note});"
        )
        for line in range(1, 3):
            parts.append(
                f"INSERT INTO items VALUES ({oid}, {line}, 'SKU-{cid:04d}-{line}', {line * 2}, {line}.25, "
                f"'{{\"color\": \"red\", \"size\": {line}, \"n\": [{cid}, {line}]}}');"
            )
        parts.append(
            f"INSERT INTO audit_log VALUES ('2026-03-01 00:00:{cid % 60:02d}', 'app', 'order {oid}', x'{cid:04x}');"
        )
    parts.append(f"BEGIN; UPDATE orders SET status = 'paid' WHERE id BETWEEN {1001 + base} AND {1006 + base}; "
                 f"UPDATE customers SET balance = balance - 10 WHERE id <= {base + 6}; COMMIT;")
    parts.append(f"UPDATE orders SET status = 'shipped', tags = 'fragile' WHERE id = {1002 + base};")
    parts.append(f"DELETE FROM items WHERE order_id = {1003 + base} AND line = 2;")
    parts.append(f"UPDATE orders SET status = 'cancelled', total = 0 WHERE id = {1009 + base};")
    return "\n".join(parts)


DDL_AND_MORE = """
ALTER TABLE customers ADD COLUMN country CHAR(2) NOT NULL DEFAULT 'DE' AFTER email;
UPDATE customers SET country = 'FR' WHERE id % 4 = 0;
ALTER TABLE orders ADD COLUMN weight_kg DOUBLE;
UPDATE orders SET weight_kg = id / 8 WHERE id % 5 = 0;
ALTER TABLE items MODIFY COLUMN qty INT NOT NULL;
UPDATE items SET qty = qty * 1000 WHERE line = 1;
UPDATE items SET line = line + 10 WHERE order_id = 1005;
ALTER TABLE orders DROP COLUMN note;
RENAME TABLE audit_log TO audit_events;
INSERT INTO audit_events VALUES ('2026-03-02 00:00:00', NULL, 'after rename', NULL);
DELETE FROM audit_events WHERE who = 'app' LIMIT 3;
CREATE TABLE promo (code VARCHAR(16) PRIMARY KEY, pct TINYINT UNSIGNED, valid_until DATE);
INSERT INTO promo VALUES ('SPRING', 10, '2026-05-31'), ('ZERO', 0, '0000-00-00');
TRUNCATE TABLE promo;
INSERT INTO promo VALUES ('SUMMER', 15, '2026-08-31');
DROP TABLE promo;
CREATE TABLE promo (code VARCHAR(16) PRIMARY KEY, pct DECIMAL(5,2));
INSERT INTO promo VALUES ('AUTUMN', 12.50);
"""


def main() -> int:
    with MariaDBServer() as server:
        server.flush_logs()
        server.execute_script(WORKLOAD)
        for round_no in range(6):
            server.execute_script(dml(round_no), database="shop")
        server.execute_script(DDL_AND_MORE, database="shop")
        server.flush_logs()
        binlog = server.binlog_files()[-2]
        expected: dict[str, Any] = {}
        with server.connect("shop") as conn, conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute("SHOW TABLES")
            for (table,) in sorted(cur.fetchall()):
                cur.execute(f"SELECT * FROM `{table}`")
                columns = [d[0] for d in cur.description]
                rows = sorted(([canonical(v) for v in row] for row in cur.fetchall()), key=json.dumps)
                expected[f"shop.{table}"] = {"columns": columns, "rows": rows}
        DATA.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(binlog, DATA / "demo-binlog.000001")
        text = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in expected.items())
        (DATA / "demo-expected.json").write_text("{\n" + text + "\n}\n")
    print(f"wrote {DATA / 'demo-binlog.000001'} ({(DATA / 'demo-binlog.000001').stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
