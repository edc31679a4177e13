from __future__ import annotations

import io

from storagecdc.demo import expected_tables, run_demo
from storagecdc.devtools.s3servers import ACCESS_KEY, SECRET_KEY


def test_demo_replicates_lists_replays_and_matches_mariadb() -> None:
    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    assert "demo OK" in text
    for table in expected_tables():
        assert f"  {table}" in text
    assert "split: 4 dispatchers" in text and "syncpoints" in text
    assert ACCESS_KEY not in text and SECRET_KEY not in text
