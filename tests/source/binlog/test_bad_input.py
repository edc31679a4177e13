"""Bad input: broken fixtures, truncated and bit-flipped files and bodies raise SourceError, nothing else."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.decoder import EventDecoder
from storagecdc.source.binlog.framing import iter_file_events
from tests.source.binlog._support import BROKEN, decode_file

FUZZ_FIXTURES = [
    "osheroff/mysql-bin.checksum-none",
    "osheroff/mysql-bin.compressed",
    "mariadb/mariadb-10.11-types.000001",
    "mariadb/mariadb-10.11-compressed.000013",
    "mariadb/mariadb-10.11-minimal-nometa.000012",
    "blackbeam_rust_mysql_common/mysql-enum-string-set.000001",
    "blackbeam_rust_mysql_common/binlog_transaction_with_GTID_TAG.000001",
    "blackbeam_rust_mysql_common/json.binlog.000001",
    "blackbeam_rust_mysql_common/vector.binlog",
    "blackbeam_rust_mysql_common/ver_5_1-wl2325_r.001",
    "apecloud_mysql-binlog-connector-rust/mysql-bin.000057",
    "apecloud_mysql-binlog-connector-rust/mysql-bin.000080",
    "zalora_binlog-parser/mysql-bin.07",
    "alibaba_canal/mysql-bin.000001",
]


@pytest.mark.parametrize("fixture", sorted(BROKEN))
def test_broken_fixtures_name_file_and_offset(binlog_fixtures: Path, fixture: str) -> None:
    path = binlog_fixtures / fixture
    offset = BROKEN[fixture]
    decoder = EventDecoder()
    seen: list[int] = []
    with pytest.raises(SourceError, match=rf"{path.name}: offset {offset}\b") as info:
        for raw in iter_file_events(path):
            for event in decoder.decode(raw):
                seen.append(event.offset)
    assert all(o < offset for o in seen)
    assert "Traceback" not in str(info.value)


def _decode_bytes(tmp_path: Path, data: bytes) -> int:
    """Decode a whole file's bytes; returns the number of events. Only SourceError may escape."""
    path = tmp_path / "fuzz-bin.000001"
    path.write_bytes(data)
    decoder = EventDecoder()
    count = 0
    for raw in iter_file_events(path):
        for _event in decoder.decode(raw):
            count += 1
    return count


def test_truncated_files_raise_source_error(binlog_fixtures: Path, tmp_path: Path) -> None:
    rng = random.Random(20261127)
    errors = 0
    for fixture in FUZZ_FIXTURES:
        data = (binlog_fixtures / fixture).read_bytes()
        boundaries = {r.offset for r in iter_file_events(binlog_fixtures / fixture)} | {len(data)}
        near = rng.sample(sorted(boundaries), min(30, len(boundaries)))
        cuts = {rng.randrange(1, len(data)) for _ in range(25)} | {b + d for b in near for d in (-1, 1)}
        for cut in sorted(c for c in cuts if 0 < c < len(data)):
            try:
                _decode_bytes(tmp_path, data[:cut])
            except SourceError as exc:
                assert "fuzz-bin.000001" in str(exc) and "offset" in str(exc)
                errors += 1
            else:
                assert cut in boundaries, f"{fixture} cut at {cut} decoded without error"
    assert errors > 250


def test_bit_flips_in_files_raise_only_source_error(binlog_fixtures: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    outcomes = {"error": 0, "clean": 0}
    for fixture in FUZZ_FIXTURES:
        original = (binlog_fixtures / fixture).read_bytes()
        for _ in range(40):
            data = bytearray(original)
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            try:
                _decode_bytes(tmp_path, bytes(data))
            except SourceError:
                outcomes["error"] += 1
            else:
                outcomes["clean"] += 1
    assert outcomes["error"] > 200


def _mutations(raw: RawEvent, rng: random.Random) -> list[bytes]:
    body = raw.body
    cuts = range(len(body)) if len(body) <= 160 else sorted(rng.sample(range(len(body)), 160))
    bodies = [body[:n] for n in cuts]
    for _ in range(12):
        mutated = bytearray(body)
        if mutated:
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(len(mutated))
                mutated[position] = rng.choice((0x00, 0xFF, 0xFE, 0xFC, 0xFD, rng.randrange(256)))
        bodies.append(bytes(mutated))
    return bodies


def test_corrupt_bodies_raise_only_source_error(binlog_fixtures: Path) -> None:
    """Every event's body truncated at many lengths and overwritten at random: the decoder, with the
    table maps and format in force at that event, raises SourceError or decodes; never anything else."""
    rng = random.Random(99)
    tried = failed = 0
    for fixture in FUZZ_FIXTURES:
        reference = EventDecoder()
        for raw in iter_file_events(binlog_fixtures / fixture):
            for body in _mutations(raw, rng):
                decoder = EventDecoder(replace(reference.state))
                decoder.table_maps = dict(reference.table_maps)
                tried += 1
                try:
                    for _event in decoder.decode(replace(raw, body=body)):
                        pass
                except SourceError as exc:
                    assert f"offset {raw.offset}" in str(exc)
                    failed += 1
            list(reference.decode(raw))
    assert tried > 5000
    assert failed > tried // 4


def test_size_smaller_than_header_and_beyond_file(binlog_fixtures: Path, tmp_path: Path) -> None:
    data = bytearray((binlog_fixtures / "osheroff/mysql-bin.checksum-none").read_bytes())
    raws = list(iter_file_events(binlog_fixtures / "osheroff/mysql-bin.checksum-none"))
    victim = raws[5]
    small = bytearray(data)
    small[victim.offset + 9 : victim.offset + 13] = (10).to_bytes(4, "little")
    with pytest.raises(SourceError, match=rf"offset {victim.offset}: event size 10 is smaller"):
        _decode_bytes(tmp_path, bytes(small))
    huge = bytearray(data)
    huge[victim.offset + 9 : victim.offset + 13] = (0xFFFFFFF0).to_bytes(4, "little")
    with pytest.raises(SourceError, match=rf"offset {victim.offset}: truncated"):
        _decode_bytes(tmp_path, bytes(huge))


def test_wrong_magic_and_empty_file(tmp_path: Path, binlog_fixtures: Path) -> None:
    with pytest.raises(SourceError, match=r"non-binlog: offset 0: not a binlog file"):
        decode_file(binlog_fixtures / "apecloud_mysql-binlog-connector-rust/non-binlog")
    empty = tmp_path / "empty-bin.000001"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="not a binlog file"):
        list(iter_file_events(empty))
    only_magic = tmp_path / "magic-bin.000001"
    only_magic.write_bytes(b"\xfebin")
    assert list(iter_file_events(only_magic)) == []
    with pytest.raises(SourceError, match="cannot open"):
        list(iter_file_events(tmp_path / "missing"))


def test_first_event_must_be_format_description(binlog_fixtures: Path, tmp_path: Path) -> None:
    data = (binlog_fixtures / "osheroff/mysql-bin.checksum-none").read_bytes()
    raws = list(iter_file_events(binlog_fixtures / "osheroff/mysql-bin.checksum-none"))
    second = raws[1]
    path = tmp_path / "headless-bin.000001"
    path.write_bytes(b"\xfebin" + data[second.offset :])
    with pytest.raises(SourceError, match="offset 4: first event is PREVIOUS_GTIDS, not FORMAT_DESCRIPTION"):
        list(iter_file_events(path))


def test_rows_event_without_table_map(binlog_fixtures: Path) -> None:
    raws = list(iter_file_events(binlog_fixtures / "osheroff/mysql-bin.checksum-crc32"))
    decoder = EventDecoder()
    rows = next(r for r in raws if r.type_code == et.WRITE_ROWS_V2)
    list(decoder.decode(raws[0]))
    with pytest.raises(SourceError, match=rf"offset {rows.offset}: WRITE_ROWS_V2 event for table id \d+ without"):
        list(decoder.decode(rows))


def test_truncated_and_corrupt_gzip(binlog_fixtures: Path, tmp_path: Path) -> None:
    data = (binlog_fixtures / "osheroff/mysql-bin.sakila.gz").read_bytes()
    cut = tmp_path / "sakila-bin.000001.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"sakila-bin\.000001\.gz: offset \d+: cannot read"):
        list(iter_file_events(cut))
    mangled = bytearray(data)
    mangled[len(data) // 3] ^= 0xFF
    bad = tmp_path / "mangled-bin.000001.gz"
    bad.write_bytes(bytes(mangled))
    with pytest.raises(SourceError, match=r"mangled-bin\.000001\.gz: offset \d+"):
        list(iter_file_events(bad))
