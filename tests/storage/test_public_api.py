"""The storage package's public surface is pinned: the sink and consumer engineers build on it."""

from __future__ import annotations

import pathlib

from storagecdc import storage


def test_public_names_are_pinned() -> None:
    assert all(hasattr(storage, name) for name in storage.__all__)
    assert len(storage.__all__) == 55


def test_only_the_s3_module_imports_boto3() -> None:
    root = pathlib.Path(storage.__file__).resolve().parents[1]
    markers = ("import boto3", "import botocore", "from botocore", "from boto3")
    importers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                       if any(m in p.read_text() for m in markers))
    assert importers == ["storage/s3.py"]
