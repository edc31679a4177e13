-- Workload: every value type of model.py's docstring and every DDL form of issue 2 section 3, with
-- INSERT/UPDATE/DELETE between the DDLs. `@DB@` and `@DB2@` are replaced by database names (see
-- tests/workloads/__init__.py). Deterministic: no NOW(), RAND() or UUID(); sessions run in UTC.
-- MariaDB 10.11 has no VECTOR type (MySQL 9 VECTOR is covered by the binlog fixtures).
SET time_zone = '+00:00';
SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';
USE `@DB@`;

-- 1. every type, at its limits, zero values and NULLs
CREATE TABLE all_types (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  c_tiny TINYINT, c_tiny_u TINYINT UNSIGNED, c_small SMALLINT, c_small_u SMALLINT UNSIGNED,
  c_med MEDIUMINT, c_med_u MEDIUMINT UNSIGNED, c_int INT, c_int_u INT UNSIGNED,
  c_big BIGINT, c_big_u BIGINT UNSIGNED,
  c_dec DECIMAL(20,6), c_dec0 DECIMAL(10,0), c_dec_u DECIMAL(5,2) UNSIGNED, c_dec65 DECIMAL(65,30),
  c_float FLOAT, c_double DOUBLE,
  c_bit1 BIT(1), c_bit13 BIT(13), c_bit64 BIT(64),
  c_year YEAR, c_date DATE, c_time TIME, c_time3 TIME(3), c_time6 TIME(6),
  c_dt DATETIME, c_dt3 DATETIME(3), c_dt6 DATETIME(6), c_ts TIMESTAMP NULL DEFAULT NULL, c_ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  c_char CHAR(10), c_varchar VARCHAR(255), c_text TEXT, c_tinytext TINYTEXT, c_mtext MEDIUMTEXT, c_ltext LONGTEXT,
  c_utf8mb3 VARCHAR(20) CHARACTER SET utf8mb3, c_latin1 VARCHAR(20) CHARACTER SET latin1,
  c_latin1_char CHAR(5) CHARACTER SET latin1, c_ascii CHAR(36) CHARACTER SET ascii,
  c_utf16 VARCHAR(10) CHARACTER SET utf16, c_gbk VARCHAR(10) CHARACTER SET gbk,
  c_binchar VARCHAR(10) CHARACTER SET binary,
  c_bin BINARY(4), c_vbin VARBINARY(64), c_tblob TINYBLOB, c_blob BLOB, c_mblob MEDIUMBLOB, c_lblob LONGBLOB,
  c_enum ENUM('small','medium','large'), c_set SET('a','b','c','d'),
  c_json JSON, c_geom GEOMETRY, c_point POINT, c_bool BOOLEAN
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO all_types VALUES
 (NULL, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  -12345678901234.123456, 9999999999, 999.99, -12345678901234567890123456789012345.123456789012345678901234567890,
  3.14159, -2.718281828459045,
  b'1', b'1010101010101', b'1111111111111111111111111111111111111111111111111111111111111111',
  2155, '2024-02-29', '-838:59:59', '838:59:58.999', '-00:00:00.000001',
  '1000-01-01 00:00:00', '2001-02-03 04:05:06.789', '9999-12-31 23:59:59.999999',
  '1970-01-01 00:00:01', '2038-01-19 03:14:07.499999',
  'abc', 'héllo wörld ✓ 😀 𝄞 中文', REPEAT('t', 1000), 'tiny', REPEAT('m', 70000), REPEAT('l', 3000),
  'utf8mb3 ✓', 'café €', 'ÿ', '550e8400-e29b-41d4-a716-446655440000',
  'utf16 ✓ 😀', '中文', x'00FF00FF',
  x'DEADBEEF', x'00FF10', x'01', x'0001020304FF', REPEAT(x'AB', 70000), REPEAT(x'CD', 300),
  'large', 'a,c,d', '{"k": [1, 2.5, "x", null, true], "n": {"deep": {"v": -1}}, "u": "ü😀"}',
  ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), ST_GeomFromText('POINT(1.5 -2.25)'), TRUE),
 (NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'0', b'0', b'0',
  0, '0000-00-00', '00:00:00', '00:00:00.000', '00:00:00.000000',
  '0000-00-00 00:00:00', '0000-00-00 00:00:00.000', '2000-01-01 00:00:00.000001', '0000-00-00 00:00:00', NULL,
  '', '', '', '', '', '', '', '', '', '', '', '', '',
  x'00000000', '', '', '', '', '', 'small', '', '[]', NULL, NULL, FALSE),
 (NULL, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  99999999999999.999999, -9999999999, 0.01, 0.000000000000000000000000000001,
  -3.4028234e38, 1.7976931348623157e308, b'0', b'1111111111111', b'1000000000000000000000000000000000000000000000000000000000000001',
  1901, '2020-00-15', '838:59:59', '-12:34:56.789', '100:00:00.5',
  '2020-00-00 00:00:00', '1999-12-31 23:59:59.999', '1970-01-01 00:00:00.000000', '2000-02-29 12:00:00', '1970-01-01 00:00:01.000001',
  'a b c     ', 'trailing spaces   ', 'x', 'y', 'z', 'w', '', x'E9', '', '', '', '', x'00',
  x'00000000', x'', x'00', x'00', x'00', x'00', 'medium', 'a,b,c,d', '{"big": 18446744073709551615, "f": -1.5e-300, "s": "\\"q\\""}',
  ST_GeomFromText('LINESTRING(0 0,1 1,2 4)'), ST_GeomFromText('POINT(0 0)'), NULL),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);

-- a multi-statement transaction, then a rolled-back one (leaves no events)
BEGIN;
UPDATE all_types SET c_int = c_int + 1, c_varchar = CONCAT(c_varchar, ' upd'), c_json = JSON_SET(c_json, '$.upd', 1) WHERE id = 1;
UPDATE all_types SET c_enum = 'medium', c_set = 'b', c_dt6 = '2021-06-15 10:20:30.123456', c_time = '-01:00:00' WHERE id = 2;
UPDATE all_types SET c_tiny = 1, c_lblob = NULL WHERE id = 4;
DELETE FROM all_types WHERE id = 3;
COMMIT;
BEGIN;
INSERT INTO all_types (c_int, c_varchar) VALUES (42, 'will be rolled back');
UPDATE all_types SET c_int = 0;
ROLLBACK;
UPDATE all_types SET c_int = 5 WHERE id = 999;

-- 2. ALTER TABLE column forms, with DML between them
ALTER TABLE all_types ADD COLUMN c_added INT NOT NULL DEFAULT 7 AFTER c_tiny;
INSERT INTO all_types (c_tiny, c_added, c_varchar) VALUES (5, 8, 'after add');
UPDATE all_types SET c_added = c_added * 10;
ALTER TABLE all_types ADD COLUMN c_first VARCHAR(8) DEFAULT 'first' FIRST;
INSERT INTO all_types (c_varchar) VALUES ('after add first');
ALTER TABLE all_types DROP COLUMN c_med;
DELETE FROM all_types WHERE c_varchar = 'after add';
ALTER TABLE all_types MODIFY COLUMN c_small BIGINT;
INSERT INTO all_types (c_small, c_varchar) VALUES (9999999999, 'after modify');
ALTER TABLE all_types CHANGE COLUMN c_varchar c_vc VARCHAR(300) CHARACTER SET utf8mb4 AFTER id;
UPDATE all_types SET c_vc = 'after change' WHERE c_vc = 'after modify';
ALTER TABLE all_types RENAME COLUMN c_vc TO c_renamed;
INSERT INTO all_types (c_renamed, c_small) VALUES ('after rename column', -1);
ALTER TABLE all_types MODIFY COLUMN c_char CHAR(20) AFTER c_renamed, ADD COLUMN c_multi DECIMAL(8,3) DEFAULT 1.5, DROP COLUMN c_tinytext;
UPDATE all_types SET c_multi = c_multi + id;

-- 3. a table without a primary key, then ADD / DROP PRIMARY KEY
CREATE TABLE t_pk_less (a INT NOT NULL, b VARCHAR(10));
INSERT INTO t_pk_less VALUES (1, 'x'), (1, 'x'), (2, 'y');
UPDATE t_pk_less SET b = 'xx' WHERE a = 1;
DELETE FROM t_pk_less WHERE a = 1 LIMIT 1;
ALTER TABLE t_pk_less ADD PRIMARY KEY (a);
INSERT INTO t_pk_less VALUES (3, 'with pk');
UPDATE t_pk_less SET a = 30 WHERE a = 3;
ALTER TABLE t_pk_less DROP PRIMARY KEY;
INSERT INTO t_pk_less VALUES (3, 'pk dropped'), (3, 'pk dropped');

-- 4. composite primary key and PK-changing updates
CREATE TABLE t_composite (a INT, b VARCHAR(20), v DECIMAL(10,2), PRIMARY KEY (a, b));
INSERT INTO t_composite VALUES (1, 'a', 1.5), (1, 'b', 2.5), (2, 'a', 3.5);
UPDATE t_composite SET a = 3 WHERE a = 2;
UPDATE t_composite SET b = CONCAT(b, '2'), v = v + 1 WHERE a = 1;
UPDATE t_composite SET v = v * 2;

-- 5. RENAME TABLE (one and several at once), ALTER ... RENAME TO, CREATE ... LIKE
RENAME TABLE t_composite TO t_composite_renamed;
INSERT INTO t_composite_renamed VALUES (9, 'z', 9.99);
CREATE TABLE t_like LIKE t_composite_renamed;
INSERT INTO t_like SELECT * FROM t_composite_renamed WHERE a < 5;
RENAME TABLE t_like TO t_like_a, t_composite_renamed TO t_like, t_like_a TO t_composite;
UPDATE t_like SET v = 0 WHERE a = 9;
DELETE FROM t_composite WHERE a = 1 AND b = 'a2';
ALTER TABLE t_like RENAME TO t_like_altered;
INSERT INTO t_like_altered VALUES (10, 'y', 10.01);

-- 6. TRUNCATE, DROP, MyISAM (non-transactional), CREATE ... AS SELECT
TRUNCATE TABLE t_pk_less;
INSERT INTO t_pk_less VALUES (4, 'truncated');
DROP TABLE t_pk_less;
CREATE TABLE t_myisam (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=MyISAM;
INSERT INTO t_myisam VALUES (1, 'nontx'), (2, 'nontx');
UPDATE t_myisam SET s = 'nontx2' WHERE id = 1;
BEGIN;
INSERT INTO t_myisam VALUES (3, 'in txn');
INSERT INTO t_like_altered VALUES (11, 'mixed', 1.00);
COMMIT;
DELETE FROM t_myisam WHERE id = 2;
CREATE TABLE t_ctas AS SELECT seq AS id, CONCAT('row', seq) AS s, seq * 1.25 AS d FROM seq_1_to_200;
DELETE FROM t_ctas WHERE id > 150;
UPDATE t_ctas SET s = CONCAT(s, '!') WHERE id % 10 = 0;
DROP TABLE t_composite, t_like_altered;

-- 7. hostile names: '/', '..', spaces, CJK, back-quotes
CREATE TABLE `a/b` (`..` INT PRIMARY KEY, `a``b` VARCHAR(10), `名前 列` TEXT);
CREATE TABLE `..` (id INT PRIMARY KEY, `x y` INT);
CREATE TABLE `名前 表` (`ID` BIGINT UNSIGNED PRIMARY KEY, `値` VARCHAR(20) CHARACTER SET utf8mb4);
INSERT INTO `a/b` VALUES (1, 'q`q', '名前'), (2, NULL, NULL);
INSERT INTO `..` VALUES (1, 1);
INSERT INTO `名前 表` VALUES (18446744073709551615, '値 ✓');
UPDATE `a/b` SET `a``b` = 'w' WHERE `..` = 2;
UPDATE `..` SET id = 2;
ALTER TABLE `名前 表` ADD COLUMN `新 列` INT DEFAULT 3;
INSERT INTO `名前 表` (`ID`, `値`) VALUES (1, 'after alter');
RENAME TABLE `..` TO `.. renamed`;
DELETE FROM `.. renamed`;

-- 8. database DDL, and statements that change no table
CREATE DATABASE `@DB2@` CHARACTER SET latin1;
CREATE TABLE `@DB2@`.other (id INT PRIMARY KEY, d DATE, s VARCHAR(10));
INSERT INTO `@DB2@`.other VALUES (1, '2020-01-01', 'café'), (2, NULL, 'latin1');
UPDATE `@DB2@`.other SET d = '2021-12-31' WHERE id = 2;
CREATE VIEW v_types AS SELECT id, c_renamed FROM all_types;
CREATE OR REPLACE VIEW v_types AS SELECT id FROM all_types;
DROP VIEW v_types;
CREATE PROCEDURE p_noop() SELECT 1;
DROP PROCEDURE p_noop;
CREATE USER '@DB@_u'@'localhost' IDENTIFIED BY 'workload-pw';
GRANT SELECT ON `@DB@`.* TO '@DB@_u'@'localhost';
DROP USER '@DB@_u'@'localhost';
DROP DATABASE `@DB2@`;

-- 9. a final transaction over several tables
BEGIN;
INSERT INTO all_types (c_renamed, c_json) VALUES ('final', '{"done": true}');
INSERT INTO `a/b` VALUES (3, 'final', 'final');
UPDATE t_ctas SET d = -d WHERE id <= 3;
DELETE FROM `名前 表` WHERE `ID` = 1;
COMMIT;
