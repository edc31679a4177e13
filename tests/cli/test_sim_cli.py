from __future__ import annotations

import pytest

from storagecdc.cli import main


def test_sim_prints_seeds_and_violations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seeds", "20", "--first-seed", "7"]) == 0
    assert capsys.readouterr().out.strip() == "seeds=20 violations=0"


def test_sim_rejects_no_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err
