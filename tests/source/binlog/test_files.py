"""File sources: one file, a list, a directory (index file or name order), and ROTATE across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from storagecdc.errors import SourceError
from storagecdc.source.binlog.events import RotateEvent
from storagecdc.source.binlog.files import iter_binlog_events, resolve_binlog_files
from storagecdc.source.binlog.framing import FormatState
from tests.source.binlog._support import decode_source


def test_single_file_follows_its_final_rotate(binlog_fixtures: Path) -> None:
    events = decode_source(binlog_fixtures / "alibaba_canal/mysql-bin.000001")
    files = [e.file for e in events]
    assert files.count("mysql-bin.000001") == 380
    assert files.count("mysql-bin.000002") == 5
    rotate = next(e for e in events if isinstance(e, RotateEvent))
    assert (rotate.next_file, rotate.position) == ("mysql-bin.000002", 4)


def test_directory_in_name_order(binlog_fixtures: Path) -> None:
    files = resolve_binlog_files(binlog_fixtures / "alibaba_canal")
    assert [f.name for f in files] == ["mysql-bin.000001", "mysql-bin.000002"]
    zalora = resolve_binlog_files(binlog_fixtures / "zalora_binlog-parser")
    assert [f.name for f in zalora][:2] == ["mysql-bin.01", "mysql-bin.02"]
    assert all(not f.name.endswith(".json") for f in zalora)


def test_directory_with_index_file(binlog_fixtures: Path, tmp_path: Path) -> None:
    (tmp_path / "b-bin.000001").symlink_to(binlog_fixtures / "zalora_binlog-parser/mysql-bin.02")
    (tmp_path / "a-bin.000002").symlink_to(binlog_fixtures / "zalora_binlog-parser/mysql-bin.01")
    (tmp_path / "ignored.000003").symlink_to(binlog_fixtures / "zalora_binlog-parser/mysql-bin.03")
    (tmp_path / "x-bin.index").write_text("./b-bin.000001\n./a-bin.000002\n")
    files = resolve_binlog_files(tmp_path)
    assert [f.name for f in files] == ["b-bin.000001", "a-bin.000002"]
    state = FormatState()
    raws = list(iter_binlog_events(tmp_path, state=state))
    assert [r.file for r in raws].count("b-bin.000001") == 7
    assert [r.file for r in raws].count("a-bin.000002") == 17
    assert state.server_version == "5.6.35-log"
    (tmp_path / "x-bin.index").write_text("./b-bin.000001\n./gone.000009\n")
    with pytest.raises(SourceError, match=r"lists \./gone\.000009"):
        resolve_binlog_files(tmp_path)


def test_list_of_files_and_start_offset(binlog_fixtures: Path) -> None:
    first = binlog_fixtures / "osheroff/mysql-bin.checksum-crc32"
    second = binlog_fixtures / "osheroff/mysql-bin.checksum-none"
    raws = list(iter_binlog_events([first, second], start_offset=27906))
    assert raws[0].file == first.name and raws[0].offset == 4
    assert raws[1].offset == 27906
    assert sum(r.file == second.name for r in raws) == 191


def test_missing_sources(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such binlog file or directory"):
        resolve_binlog_files(tmp_path / "nope")
    with pytest.raises(SourceError, match="no binlog files"):
        resolve_binlog_files(tmp_path)
    with pytest.raises(SourceError, match="no such binlog file"):
        resolve_binlog_files([tmp_path / "nope"])
