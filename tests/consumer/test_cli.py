"""``storagecdc consume``: one-shot exit 0, option errors exit 2, ``--follow`` stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from storagecdc.cli import main
from storagecdc.consumer import SqliteApplier
from storagecdc.model import Op
from storagecdc.storage.local import LocalStore
from storagecdc.storage.uri import open_store
from tests.consumer.feed import Feed, col, pk, table, ts

T = table("t", pk(), col("a", "VARCHAR", length=10))
QUERY = "protocol=csv&include-commit-ts=true&flush-interval=5s"


def _output(root: Path) -> Feed:
    feed = Feed(LocalStore(root), protocol="csv", include_commit_ts=True)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a"), (2, "b")], ts(2))
    feed.checkpoint(ts(3))
    return feed


def test_one_shot_consume_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _output(tmp_path / "out")
    db = tmp_path / "t.db"
    code = main(["consume", "--sink-uri", f"file://{tmp_path / 'out'}?{QUERY}", "--target", f"sqlite:///{db}"])
    assert code == 0
    assert "2 rows applied" in capsys.readouterr().err
    assert SqliteApplier(db).rows(T) == [(1, "a"), (2, "b")]
    assert main(["consume", "--sink-uri", f"file://{tmp_path / 'out'}?{QUERY}", "--target", f"sqlite:///{db}"]) == 0
    assert "0 rows applied" in capsys.readouterr().err


def test_unknown_option_and_target_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"file://{tmp_path}"
    assert main(["consume", "--sink-uri", uri + "?protocl=csv", "--target", "sqlite:///x.db"]) == 2
    assert "protocl" in capsys.readouterr().err
    assert main(["consume", "--sink-uri", uri, "--target", "postgres://u:secret@h/"]) == 2
    err = capsys.readouterr().err
    assert "secret" not in err and "postgres" in err


def test_follow_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    feed = _output(tmp_path / "out")
    db = tmp_path / "t.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from storagecdc.cli import main; sys.exit(main(sys.argv[1:]))", "consume",
         "--sink-uri", f"file://{tmp_path / 'out'}?{QUERY}", "--target", f"sqlite:///{db}", "--follow",
         "--poll-interval", "50ms"],
        stderr=subprocess.PIPE, text=True)
    try:
        info = T.with_version(ts(1))
        feed.rows(info, Op.INSERT, [(3, "c")], ts(4))
        feed.checkpoint(ts(5))
        deadline = time.monotonic() + 20
        rows: list[tuple[object, ...]] = []
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    rows = SqliteApplier(db).rows(info)
                except Exception:  # the table may not exist yet
                    rows = []
                if len(rows) == 3:
                    break
            time.sleep(0.05)
        assert rows == [(1, "a"), (2, "b"), (3, "c")]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "3 rows applied" in err


@pytest.mark.parametrize("kind", [pytest.param("local", id="local"),
                                  pytest.param("moto", id="moto", marks=pytest.mark.s3)])
def test_consume_from_an_object_store_uri(kind: str, store_uri_factory: Callable[[str], str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The same sink URI (store options and sink options in one query) the changefeed writes with."""
    uri = store_uri_factory(kind)
    uri += ("&" if "?" in uri else "?") + QUERY
    store = open_store(uri)
    feed = Feed(store, protocol="csv", include_commit_ts=True)
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a")], ts(2))
    feed.checkpoint(ts(3))
    db = tmp_path / "t.db"
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}"]) == 0
    err = capsys.readouterr().err
    assert "1 rows applied" in err
    secrets = [v for k, v in parse_qsl(urlsplit(uri).query) if k in ("secret-access-key", "session-token")]
    assert len(secrets) == (1 if kind == "moto" else 0)
    assert all(s not in err for s in secrets)
    assert SqliteApplier(db).rows(info) == [(1, "a")]


def test_no_checkpoint_yet_is_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    assert main(["consume", "--sink-uri", f"file://{tmp_path / 'out'}", "--target", f"sqlite:///{tmp_path}/t.db"]) == 0
    assert "no checkpoint yet" in capsys.readouterr().err


def test_data_without_a_schema_file_names_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _output(tmp_path / "out")
    for path in (tmp_path / "out").rglob("schema_*.json"):
        path.unlink()
    assert main(["consume", "--sink-uri", f"file://{tmp_path / 'out'}?{QUERY}", "--target",
                 f"sqlite:///{tmp_path}/t.db"]) == 1
    err = capsys.readouterr().err
    assert "db.t" in err and "no schema file" in err and "db/t/" in err


def test_sqlite_target_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = SqliteApplier.from_uri("sqlite:///rel.db")
    absolute = SqliteApplier.from_uri(f"sqlite:///{tmp_path}/abs.db")
    memory = SqliteApplier.from_uri("sqlite:///:memory:")
    for applier in (relative, absolute, memory):
        applier.close()
    assert (tmp_path / "rel.db").exists() and (tmp_path / "abs.db").exists()
    assert absolute.display_uri == f"sqlite:///{tmp_path}/abs.db" and relative.display_uri == "sqlite:///rel.db"


def test_until_a_syncpoint_gives_its_consistent_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two tables, a syncpoint at T between their changes: the target holds exactly the changes below T, and
    a later plain consume continues from there."""
    feed = Feed(LocalStore(tmp_path / "out"), protocol="csv", include_commit_ts=True)
    a = feed.create(table("a", pk()), ts(1))
    b = feed.create(table("b", pk()), ts(2))
    feed.rows(a, Op.INSERT, [(1,)], ts(3))
    feed.rows(b, Op.INSERT, [(1,)], ts(4))
    feed.flush()
    feed.sink.write_syncpoint(ts(5), {a.name: {"": 1}, b.name: {"": 1}})
    feed.rows(a, Op.INSERT, [(2,)], ts(5))  # at T itself: after the cut
    feed.rows(b, Op.DELETE, [(1,)], ts(6))
    feed.checkpoint(ts(7))
    db = tmp_path / "t.db"
    uri = f"file://{tmp_path / 'out'}?{QUERY}"
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}", "--syncpoint", "latest"]) == 0
    assert (SqliteApplier(db).rows(a), SqliteApplier(db).rows(b)) == ([(1,)], [(1,)])
    assert f"checkpoint {ts(5) - 1}" in capsys.readouterr().err
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}", "--syncpoint", "123"]) == 2
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{db}"]) == 0
    assert (SqliteApplier(db).rows(a), SqliteApplier(db).rows(b)) == ([(1,), (2,)], [])


def test_until_needs_commit_ts_in_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = Feed(LocalStore(tmp_path / "out"), protocol="csv")
    info = feed.create(T, ts(1))
    feed.rows(info, Op.INSERT, [(1, "a")], ts(2))
    feed.checkpoint(ts(3))
    uri = f"file://{tmp_path / 'out'}?protocol=csv"
    assert main(["consume", "--sink-uri", uri, "--target", f"sqlite:///{tmp_path}/t.db", "--until", str(ts(2))]) == 1
    assert "include-commit-ts=true" in capsys.readouterr().err
