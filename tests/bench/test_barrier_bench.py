"""``storagecdc bench barrier``: its arguments, and a toy-sized run through the command line."""

from __future__ import annotations

import pytest

from storagecdc.cli import build_parser, main


def test_defaults_are_the_issue_s_sizes() -> None:
    args = build_parser().parse_args(["bench", "barrier"])
    assert (args.rounds, args.sizes, args.syncpoint_rounds, args.memory_dispatchers) == (
        200, (100, 1_000, 10_000), 5, 10_000)


def test_sizes_and_rounds_parse() -> None:
    args = build_parser().parse_args(["bench", "barrier", "--rounds", "100", "--sizes", "100, 1000,10000",
                                      "--syncpoint-rounds", "3", "--memory-dispatchers", "500"])
    assert (args.rounds, args.sizes, args.syncpoint_rounds, args.memory_dispatchers) == (100, (100, 1_000, 10_000),
                                                                                         3, 500)


@pytest.mark.parametrize("bad", [["--sizes", "100,x"], ["--sizes", "0"], ["--rounds", "-1"], ["--sizes", ""]])
def test_bad_values_are_refused(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["bench", "barrier", *bad])
    assert exc.value.code == 2
    assert "storagecdc bench barrier: error: argument" in capsys.readouterr().err


def test_a_toy_run_prints_every_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "barrier", "--rounds", "2", "--sizes", "4", "--syncpoint-rounds", "1",
                 "--memory-dispatchers", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["table DDL, 16 spans", "syncpoint, 4 dispatchers",
                                                    "memory per idle dispatcher"]
