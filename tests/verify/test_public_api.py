"""The verify package's public surface is pinned."""

from __future__ import annotations

from storagecdc import verify


def test_public_names() -> None:
    assert sorted(verify.__all__) == [
        "CannotVerify", "Comparison", "Cut", "RowDiff", "SourceSnapshot", "TableResult", "VerifyOptions", "align",
        "compare", "compare_table", "format_comparison", "take_snapshot", "verify",
    ]
    for name in verify.__all__:
        assert getattr(verify, name) is not None
