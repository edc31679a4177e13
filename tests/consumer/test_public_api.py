"""The consumer's public surface is what ``storagecdc.consumer.__all__`` names, and it never imports the sink."""

from __future__ import annotations

import subprocess
import sys

from storagecdc import consumer

PUBLIC = {
    "PROGRESS_TABLE", "Applier", "Change", "ChangeKind", "ConsumeStats", "ConsumerOptions", "DataStep",
    "DdlChange", "DdlStep", "FileReader", "MySqlApplier", "Progress", "Replayer", "Scanner", "SqliteApplier",
    "Step", "Stream", "TableChange", "carries_commit_ts", "consumer_options", "open_applier", "options_from_uri",
    "reader_for", "sqlite_table_name",
}


def test_public_names_are_pinned() -> None:
    assert set(consumer.__all__) == PUBLIC
    assert all(hasattr(consumer, name) for name in PUBLIC)


def test_the_consumer_does_not_import_the_sink() -> None:
    code = ("import sys, storagecdc.consumer, storagecdc.cli.consume; "
            "print(sorted(m for m in sys.modules if m.startswith('storagecdc.sink')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
