"""The verify tests' workload on the private MariaDB: several tables and types, a table without a primary
key, and DDL between the DML."""

from __future__ import annotations

from storagecdc.devtools.mariadb import MariaDBServer

SCHEMA = """
CREATE TABLE types (
  id INT PRIMARY KEY, d DECIMAL(12,3), dt DATETIME(3), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(2),
  f FLOAT, g DOUBLE, b BINARY(4), vb VARBINARY(16), j JSON, bits BIT(10), y YEAR, e ENUM('red','green'),
  st SET('x','y','z'), c CHAR(5), txt TEXT, u BIGINT UNSIGNED, dd DATE
);
CREATE TABLE nopk (a INT, s VARCHAR(20));
CREATE TABLE words (k VARCHAR(20) PRIMARY KEY, n INT NOT NULL);
"""

FIRST = """
INSERT INTO types VALUES
  (1, 123.456, '2024-02-29 23:59:58.123', '2024-01-01 00:00:00.000001', '-838:59:59.99', 1.1, 0.1, x'01', x'00ff',
   '{"b": 1, "a": [1, 2]}', b'1010101010', 2024, 'green', 'x,z', 'ab', 'text é ✓', 18446744073709551615,
   '2024-12-31'),
  (2, -0.001, '1000-01-01 00:00:00', NULL, '00:00:00', -3.4e38, 1e308, x'ffffffff', '', '[]', b'0', 1901, 'red',
   '', '', '', 0, '0000-00-00'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO nopk VALUES (1, 'dup'), (1, 'dup'), (2, NULL), (3, 'three');
INSERT INTO words VALUES ('Apple', 1), ('banana', 2), ('cherry', 3), ('tamper-me', 4);
UPDATE types SET d = 999999999.999, c = 'zz' WHERE id = 2;
DELETE FROM nopk WHERE a = 3;
"""

DDL_AND_SECOND = """
ALTER TABLE types ADD COLUMN extra INT NOT NULL DEFAULT 7;
INSERT INTO types (id, d, extra) VALUES (4, 4.5, 8);
CREATE TABLE later (id BIGINT PRIMARY KEY, v VARCHAR(10));
INSERT INTO later VALUES (1, 'one'), (2, 'two');
UPDATE words SET n = n + 10 WHERE k IN ('Apple', 'cherry');
UPDATE nopk SET s = 'changed' WHERE a = 2;
CREATE TABLE gone (id INT PRIMARY KEY);
INSERT INTO gone VALUES (1);
DROP TABLE gone;
"""


def run_workload(server: MariaDBServer, db: str, *, rotate_between: bool = False) -> None:
    """Create the tables and run both halves; ``rotate_between`` starts a new binlog file before the second."""
    server.execute_script(SCHEMA + FIRST, database=db)
    if rotate_between:
        server.flush_logs()
    server.execute_script(DDL_AND_SECOND, database=db)
