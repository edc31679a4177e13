"""``verify --target`` without a source, on the demo binlog (two seconds, so one 1 s syncpoint) with a split
table: a target consumed to the syncpoint is compared at that syncpoint, one consumed to the checkpoint at the
checkpoint."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from storagecdc.cli import main
from storagecdc.config import load_config
from storagecdc.runtime.replicate import replicate

DEMO = Path(__file__).resolve().parents[2] / "src" / "storagecdc" / "data" / "demo-binlog.000001"


def _verify(capsys: pytest.CaptureFixture[str], sink_uri: str, target: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", "--sink-uri", sink_uri, "--target", f"sqlite:///{target}", "--chunk-size", "50"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_targets_at_a_syncpoint_and_at_the_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    sink_uri = f"file://{out}?protocol=csv&include-commit-ts=true"
    result = replicate(load_config(None, source=str(DEMO), sink_uri=sink_uri,
                                   overrides={"split_tables": ["shop.orders=4"], "sync_point": True,
                                              "sync_point_interval": "1s"}))
    markers = sorted((out / "_storagecdc" / "syncpoint").glob("*.json"))
    assert markers
    first = json.loads(markers[0].read_text())["commit-ts"]

    at_sync = tmp_path / "at-sync.db"
    assert main(["consume", "--sink-uri", sink_uri, "--target", f"sqlite:///{at_sync}", "--syncpoint",
                 str(first)]) == 0
    code, text = _verify(capsys, sink_uri, at_sync)
    assert code == 0, text
    assert f"target vs output at commit-ts {first - 1} " in text

    full = tmp_path / "full.db"
    assert main(["consume", "--sink-uri", sink_uri, "--target", f"sqlite:///{full}"]) == 0
    code, text = _verify(capsys, sink_uri, full)
    assert code == 0, text
    assert f"target vs output at commit-ts {result.checkpoint_ts} " in text
    assert "shop.orders " in text

    with sqlite3.connect(full) as db:
        (key,) = db.execute('SELECT MIN(id) FROM "shop.orders"').fetchone()
        db.execute('DELETE FROM "shop.orders" WHERE id = ?', (key,))
    code, text = _verify(capsys, sink_uri, full)
    assert code == 1, text
    assert "shop.orders: rows differ" in text and f"key id='{key}':" in text and "target: absent" in text
