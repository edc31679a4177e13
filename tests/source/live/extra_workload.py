"""An extra workload for the live decode-vs-SELECT tests: what ``tests/workloads/all_types_ddl.sql`` does not
cover or does not leave behind, run after it in the same stream (``extras_sql(database, second_database)``).

``VALUES_SQL``: FLOAT/DOUBLE/DECIMAL extremes (the shared workload deletes its row of them), ENUM index 0 from
an invalid value, generated (VIRTUAL, STORED) and INVISIBLE columns, ALTER DATABASE charset inheritance, one
statement of more rows than the tests let the assembler buffer (``MAX_BUFFERED_ROWS``), fractional seconds
1/2/4/5, TIMESTAMP written in another time zone, a CHAR(100) utf8mb4 value over 255 bytes, a 300-member ENUM, a
9-member SET, 301 columns, partitions, DDL decorated with keys, checks, comments and options, triggers,
savepoints, REPLACE and upsert, multi-table DML.

``DDL_SQL``: DDL forms beyond the shared workload: CONVERT TO CHARACTER SET, a table's default charset,
parenthesised ADD COLUMN, IF [NOT] EXISTS, RENAME across databases, CREATE OR REPLACE, ALGORITHM/LOCK, column
reordering, DROP and ADD of one name, column and table name case, ANSI_QUOTES, versioned and ``#`` comments, a
composite primary key replaced, MODIFY to another charset, NULL/default changes, ENUM members changed, CREATE
... LIKE from another database, CREATE ... SELECT of typed expressions, TRUNCATE without TABLE, a renamed
primary-key column, a generated column dropped and added again with another expression. ``@DB2@`` tables are
created after the shared workload dropped it.
"""

from __future__ import annotations

VALUES_SQL = """SET sql_mode = '';
CREATE TABLE extremes (
  id INT PRIMARY KEY, f FLOAT, d DOUBLE, dm DECIMAL(65,30), y YEAR, t TIME(6),
  b BIT(64), e ENUM('x','y'), s SET('p','q'), vb VARBINARY(8), bn BINARY(3)
);
INSERT INTO extremes VALUES
 (1, -3.4028234e38, 1.7976931348623157e308, 0.000000000000000000000000000001, 1901, '838:59:59.000000',
  b'1000000000000000000000000000000000000000000000000000000000000001', 'y', 'p,q', x'00', x'41'),
 (2, 1.17549435e-38, 4.9406564584124654e-324, -99999999999999999999999999999999999.999999999999999999999999999999,
  2155, '-838:59:59.000000', 0, 'z', '', x'', x''),
 (3, 16777217, -0.0, -0.5, 0, '-00:00:00.5', 1, '', 'q', NULL, x'FFFFFF'),
 (4, -0.0, 0.1, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE extremes SET f = f * 2, d = d / 3 WHERE id = 3;
CREATE TABLE gen (
  id INT PRIMARY KEY, a INT, v INT AS (a * 2) VIRTUAL, st VARCHAR(20) AS (CONCAT('s', a)) STORED,
  h INT INVISIBLE DEFAULT 5
);
INSERT INTO gen (id, a) VALUES (1, 10), (2, NULL);
INSERT INTO gen (id, a, h) VALUES (3, 30, 33);
UPDATE gen SET a = a + 1 WHERE id = 1;
UPDATE gen SET h = 6 WHERE id = 2;
ALTER TABLE gen ADD COLUMN w INT AS (id + 100) VIRTUAL AFTER a;
INSERT INTO gen (id, a) VALUES (4, 40);
UPDATE gen SET h = h + 1;
ALTER DATABASE `@DB@` CHARACTER SET latin1;
CREATE TABLE inherits (id INT PRIMARY KEY, s VARCHAR(10), t TEXT);
INSERT INTO inherits VALUES (1, 'café', 'ÿ€');
ALTER DATABASE `@DB@` CHARACTER SET utf8mb4;
CREATE TABLE big (id INT PRIMARY KEY, s VARCHAR(20));
INSERT INTO big SELECT seq, CONCAT('r', seq) FROM seq_1_to_2500;
UPDATE big SET s = 'u' WHERE id IN (1, 1000, 2500);
DELETE FROM big WHERE id IN (2, 2499);
SET sql_mode = 'STRICT_TRANS_TABLES';
SET time_zone = '+05:30';
CREATE TABLE fsp (
  id INT PRIMARY KEY, t1 TIME(1), t2 TIME(2), t4 TIME(4), t5 TIME(5), d1 DATETIME(1), d2 DATETIME(2),
  d4 DATETIME(4), d5 DATETIME(5), s1 TIMESTAMP(1) NULL, s2 TIMESTAMP(2) NULL, s4 TIMESTAMP(4) NULL,
  s5 TIMESTAMP(5) NULL, c100 CHAR(100), e300 ENUM(@E300@), s9 SET('a','b','c','d','e','f','g','h','i')
) PARTITION BY HASH (id) PARTITIONS 3;
INSERT INTO fsp VALUES
 (1, '-838:59:58.9', '12:00:00.99', '-00:00:00.0001', '100:00:00.00001', '2000-01-01 00:00:00.9',
  '9999-12-31 23:59:59.99', '1000-01-01 00:00:00.0001', '2020-02-29 12:34:56.12345', '1970-01-01 05:30:01.1',
  '2038-01-19 08:44:07.99', '2000-01-01 05:29:59.9999', '2020-06-30 23:59:59.99999', REPEAT('😀', 70), 'e299',
  'a,i'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, REPEAT('é', 100), 'e0', 'i'),
 (3, 0, 0, 0, 0, '2001-01-01', '2001-01-01', '2001-01-01', '2001-01-01', '2001-01-01', '2001-01-01',
  '2001-01-01', '2001-01-01', '', 'e255', '');
SET time_zone = '+00:00';
UPDATE fsp SET c100 = CONCAT(c100, 'x'), e300 = 'e256' WHERE id = 3;
CREATE TABLE wide (id INT PRIMARY KEY, @WIDE_COLUMNS@);
INSERT INTO wide (id, c1, c150, c300) VALUES (1, 1, 150, 300), (2, NULL, -1, NULL);
UPDATE wide SET c299 = 299 WHERE id = 2;
CREATE TABLE decorated (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'the key, with ''quotes''',
  code VARCHAR(20) NOT NULL DEFAULT 'a,b' COLLATE utf8mb4_bin,
  amount DECIMAL(12,4) NOT NULL DEFAULT 0 CHECK (amount >= 0),
  updated TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  parent BIGINT UNSIGNED NULL,
  PRIMARY KEY (id), UNIQUE KEY uk_code (code), KEY k_parent (parent),
  CONSTRAINT fk_parent FOREIGN KEY (parent) REFERENCES decorated (id) ON DELETE SET NULL
) ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4 ROW_FORMAT=DYNAMIC COMMENT='decorated ; table';
INSERT INTO decorated (code, amount, updated) VALUES ('one', 1.5, '2024-01-01 00:00:00.123'),
  ('two', 2.25, '2024-01-02 00:00:00');
UPDATE decorated SET parent = 1000, updated = '2024-01-03 00:00:00.5' WHERE code = 'two';
ALTER TABLE decorated ADD INDEX k_amount (amount), ALTER COLUMN amount SET DEFAULT 1, ENGINE=InnoDB;
REPLACE INTO decorated (id, code, amount, updated) VALUES (1001, 'two', 3, '2024-01-04 00:00:00');
INSERT INTO decorated (id, code, amount, updated) VALUES (1000, 'x', 0, '2024-01-05 00:00:00')
  ON DUPLICATE KEY UPDATE amount = amount + 10;
CREATE TABLE audit (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40));
CREATE TRIGGER trg_decorated AFTER UPDATE ON decorated FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('updated ', NEW.code));
UPDATE decorated SET amount = amount * 2, updated = '2024-02-01 00:00:00';
BEGIN;
INSERT INTO audit (what) VALUES ('kept');
SAVEPOINT sp;
INSERT INTO audit (what) VALUES ('rolled back to savepoint');
ROLLBACK TO SAVEPOINT sp;
INSERT INTO audit (what) VALUES ('kept too');
COMMIT;
DROP TRIGGER trg_decorated;
UPDATE audit a JOIN decorated d ON a.n = 1 SET a.what = 'multi-table', d.amount = 0;
DELETE a, d FROM audit a JOIN decorated d ON a.n = 2 AND d.code = 'one';
"""

DDL_SQL = """
SET sql_mode = 'STRICT_TRANS_TABLES';
CREATE TABLE cv (id INT PRIMARY KEY, s VARCHAR(10)) DEFAULT CHARSET=utf8mb4;
ALTER TABLE cv CONVERT TO CHARACTER SET latin1;
INSERT INTO cv VALUES (1, 'café€');
CREATE TABLE tc (id INT PRIMARY KEY) DEFAULT CHARSET=utf8mb4;
ALTER TABLE tc DEFAULT CHARSET = latin1;
ALTER TABLE tc ADD COLUMN s VARCHAR(10);
INSERT INTO tc VALUES (1, 'café€');
CREATE TABLE pa (id INT PRIMARY KEY);
ALTER TABLE pa ADD COLUMN (a INT, b VARCHAR(5));
INSERT INTO pa VALUES (1, 2, 'x');
CREATE TABLE ie (id INT PRIMARY KEY, a INT);
ALTER TABLE ie ADD COLUMN IF NOT EXISTS a INT, DROP COLUMN IF EXISTS zz, ADD COLUMN IF NOT EXISTS b INT;
CREATE TABLE IF NOT EXISTS ie (x INT);
DROP TABLE IF EXISTS nonexistent_1, nonexistent_2;
INSERT INTO ie VALUES (1, 2, 3);
CREATE DATABASE `@DB2@`;
CREATE TABLE xr (id INT PRIMARY KEY, s VARCHAR(5));
INSERT INTO xr VALUES (1, 'a');
RENAME TABLE xr TO `@DB2@`.xr;
INSERT INTO `@DB2@`.xr VALUES (2, 'b');
RENAME TABLE `@DB2@`.xr TO xr2;
UPDATE xr2 SET s = 'c';
CREATE TABLE cr (id INT PRIMARY KEY, a VARCHAR(5));
INSERT INTO cr VALUES (1, 'x');
CREATE OR REPLACE TABLE cr (id INT PRIMARY KEY, b DATE, c INT);
INSERT INTO cr VALUES (2, '2020-01-01', 3);
CREATE TABLE al (id INT PRIMARY KEY);
ALTER TABLE al ALGORITHM=INPLACE, LOCK=NONE, ADD COLUMN a INT;
INSERT INTO al VALUES (1, 2);
CREATE TABLE ro (id INT PRIMARY KEY, a INT, b INT);
INSERT INTO ro VALUES (0, 1, 2);
ALTER TABLE ro CHANGE b b INT FIRST;
ALTER TABLE ro MODIFY a INT AFTER b;
INSERT INTO ro VALUES (3, 1, 2);
CREATE TABLE ds (id INT PRIMARY KEY, a INT);
ALTER TABLE ds DROP COLUMN a, ADD COLUMN a VARCHAR(5);
INSERT INTO ds VALUES (1, 'x');
CREATE TABLE cc (id INT PRIMARY KEY, MixedCase INT, other INT);
ALTER TABLE cc DROP COLUMN mixedcase;
ALTER TABLE cc CHANGE OTHER Other2 BIGINT;
INSERT INTO cc VALUES (1, 5);
CREATE TABLE TCase (id INT PRIMARY KEY);
CREATE TABLE tcase (id INT PRIMARY KEY, s VARCHAR(5));
INSERT INTO TCase VALUES (1);
INSERT INTO tcase VALUES (2, 'x');
SET sql_mode = 'ANSI_QUOTES';
CREATE TABLE "aq" ("a b" INT PRIMARY KEY, "c""d" VARCHAR(5));
INSERT INTO "aq" VALUES (1, 'x');
SET sql_mode = 'STRICT_TRANS_TABLES';
CREATE TABLE vc (id INT PRIMARY KEY, /* c1 */ a INT /*!50100 COMMENT 'x' */) /*!40101 DEFAULT CHARSET=latin1 */;
INSERT INTO vc VALUES (1, 2);
CREATE TABLE hc (id INT PRIMARY KEY # a comment to the end of the line
, s VARCHAR(5));
INSERT INTO hc VALUES (1, 'x');
CREATE TABLE pk2 (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a));
ALTER TABLE pk2 DROP PRIMARY KEY, ADD PRIMARY KEY (b, a);
INSERT INTO pk2 VALUES (1, 2);
UPDATE pk2 SET b = 3;
CREATE TABLE mc (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET utf8mb4);
INSERT INTO mc VALUES (1, 'é');
ALTER TABLE mc MODIFY s VARCHAR(10) CHARACTER SET latin1;
INSERT INTO mc VALUES (2, 'ÿ€');
CREATE TABLE nd (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 1);
ALTER TABLE nd ALTER a DROP DEFAULT;
ALTER TABLE nd MODIFY a INT NULL;
INSERT INTO nd VALUES (1, NULL);
CREATE TABLE ea (id INT PRIMARY KEY, e ENUM('a','b'));
INSERT INTO ea VALUES (1, 'b');
ALTER TABLE ea MODIFY e ENUM('z','a','b','c');
INSERT INTO ea VALUES (2, 'c');
UPDATE ea SET e = 'z' WHERE id = 1;
CREATE TABLE `@DB2@`.src (id INT PRIMARY KEY, d DATETIME(2));
CREATE TABLE lk LIKE `@DB2@`.src;
INSERT INTO lk VALUES (1, '2020-01-01 00:00:00.12');
CREATE TABLE ct2 SELECT CAST(1.5 AS DECIMAL(10,3)) AS d, CAST('2020-01-01 00:00:01.5' AS DATETIME(1)) AS dt,
  'x' AS s, 18446744073709551615 AS u, NULL AS n;
INSERT INTO ct2 VALUES (2.25, '2021-01-01', 'y', 1, NULL);
CREATE TABLE tk (id INT PRIMARY KEY);
INSERT INTO tk VALUES (1);
TRUNCATE tk;
INSERT INTO tk VALUES (2);
CREATE TABLE rp (id INT PRIMARY KEY, v INT);
INSERT INTO rp VALUES (0, 0);
ALTER TABLE rp RENAME COLUMN id TO id2;
INSERT INTO rp VALUES (1, 2);
UPDATE rp SET id2 = id2 + 5;
CREATE TABLE gm (id INT PRIMARY KEY, a INT, b INT GENERATED ALWAYS AS (a + 1) STORED, c INT AS (a * 2) PERSISTENT);
INSERT INTO gm (id, a) VALUES (1, 1);
ALTER TABLE gm DROP COLUMN c, ADD COLUMN c INT AS (a * 3) VIRTUAL;
INSERT INTO gm (id, a) VALUES (2, 2);
UPDATE gm SET a = a + 1;
"""

MAX_BUFFERED_ROWS = 1000
"""The assembler's ``max_buffered_rows`` in these tests: the 2500-row INSERT into ``big`` is streamed."""

EXTRA_TABLES = ("extremes", "gen", "inherits", "big", "fsp", "wide", "decorated", "audit", "cv", "tc", "pa", "ie",
                "xr2", "cr", "al", "ro", "ds", "cc", "TCase", "tcase", "aq", "vc", "hc", "pk2", "mc", "nd", "ea", "lk",
                "ct2", "tk", "rp", "gm", "src")  # fmt: skip
"""The tables the extras leave (``src`` in the second database)."""


def extras_sql(database: str, second_database: str) -> str:
    """The extra workload for ``database`` (it must be the session's current one) and ``second_database``
    (which must not exist)."""
    members = ", ".join(f"'e{k}'" for k in range(300))
    wide = ", ".join(f"c{k} INT" for k in range(1, 301))
    text = VALUES_SQL.replace("@E300@", members).replace("@WIDE_COLUMNS@", wide) + DDL_SQL
    return text.replace("@DB2@", second_database).replace("@DB@", database)
