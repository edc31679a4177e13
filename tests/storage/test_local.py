"""Local-directory specifics: disk full, concurrent create-only writers, no temporary files left behind."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from storagecdc.errors import ObjectExistsError, StorageError
from storagecdc.storage.local import LocalStore
from tests.tmpfs import mounted_tmpfs


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs."""
    with mounted_tmpfs(tmp_path / "tiny", "256k") as mount_point:
        yield mount_point


def test_disk_full_is_a_clear_error_and_leaves_nothing(tiny_disk: Path) -> None:
    store = LocalStore(tiny_disk / "sink")
    store.put("db/t/1/CDC000001.csv", b"small", create_only=True)
    with pytest.raises(StorageError) as info:
        store.put("db/t/1/CDC000002.csv", os.urandom(1024 * 1024), create_only=True)
    assert "disk full" in str(info.value)
    assert "db/t/1/CDC000002.csv" in str(info.value)
    assert [o.key for o in store.list()] == ["db/t/1/CDC000001.csv"]
    assert sorted(p.name for p in (tiny_disk / "sink/db/t/1").iterdir()) == ["CDC000001.csv"]


def test_concurrent_create_only_writers_have_one_winner(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    results: dict[int, str] = {}
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        try:
            store.put("race/key", f"writer {i}".encode(), create_only=True)
            results[i] = "won"
        except ObjectExistsError:
            results[i] = "lost"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in results.items() if r == "won"]
    assert len(winners) == 1
    assert store.get("race/key") == f"writer {winners[0]}".encode()
    assert sorted(p.name for p in (tmp_path / "race").iterdir()) == ["key"]


def test_reserved_and_overlong_names(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(ValueError, match="reserved"):
        store.put("a/.storagecdc-tmp-x", b"")
    with pytest.raises(StorageError, match="x" * 10):
        store.put("x" * 300, b"")
