"""Binlog sources made of files: one file, a list of files, or a directory, read as one event stream.

A directory is read in the order of its ``*.index`` file (the server's own list) when it has one, else in
name order of the files that start with the binlog magic or are gzip-compressed. Across files the stream
follows ROTATE: a single file continues into the file its last ROTATE names (when that file, or the same
name with ``.gz``, sits beside it), at the ROTATE's position; a listed file starts at the position the
previous file's final ROTATE gave when it names that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from storagecdc.errors import SourceError
from storagecdc.source.binlog import event_types as et
from storagecdc.source.binlog.body import U64
from storagecdc.source.binlog.contract import RawEvent
from storagecdc.source.binlog.framing import BINLOG_MAGIC, GZIP_MAGIC, FormatState, iter_file_events

BinlogSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def _is_binlog(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head == BINLOG_MAGIC or head[:2] == GZIP_MAGIC


def _from_index(directory: Path, index: Path) -> list[Path]:
    files = []
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        name = line.strip()
        if not name:
            continue
        path = directory / Path(name).name
        if not path.is_file():
            raise SourceError(f"{index}: lists {name}, which is not in {directory}")
        files.append(path)
    return files


def resolve_binlog_files(source: BinlogSource) -> list[Path]:
    """The ordered binlog files of a source (a file, a directory, or a list of files)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            indexes = sorted(path.glob("*.index"))
            if len(indexes) > 1:
                raise SourceError(f"{path}: several .index files ({', '.join(p.name for p in indexes)})")
            if indexes:
                return _from_index(path, indexes[0])
            files = sorted(p for p in path.iterdir() if p.is_file() and _is_binlog(p))
            if not files:
                raise SourceError(f"{path}: no binlog files in the directory")
            return files
        if not path.is_file():
            raise SourceError(f"{path}: no such binlog file or directory")
        return [path]
    files = [Path(p) for p in source]
    for path in files:
        if not path.is_file():
            raise SourceError(f"{path}: no such binlog file")
    return files


def _rotate_target(raw: RawEvent, state: FormatState) -> tuple[str, int]:
    post = state.post_header_length(et.ROTATE)
    position = U64(raw.body, 0)[0] if post >= 8 and len(raw.body) >= 8 else 4
    return raw.body[post:].decode("utf-8", "replace"), position


def _beside(path: Path, name: str) -> Path | None:
    for candidate in (path.parent / name, path.parent / f"{name}.gz"):
        if candidate.is_file() and candidate != path:
            return candidate
    return None


def iter_binlog_events(
    source: BinlogSource, start_offset: int = 4, state: FormatState | None = None
) -> Iterator[RawEvent]:
    """Frame every event of a file source, file after file; ``start_offset`` applies to the first file.

    ``state`` (updated in place) follows each file's FORMAT_DESCRIPTION events.
    """
    files = resolve_binlog_files(source)
    follow = isinstance(source, (str, os.PathLike)) and len(files) == 1 and not Path(source).is_dir()
    if state is None:
        state = FormatState()
    offset = start_offset
    seen: set[Path] = set()
    index = 0
    while index < len(files):
        path = files[index]
        seen.add(path)
        last: RawEvent | None = None
        for raw in iter_file_events(path, offset, state):
            last = raw
            yield raw
        offset = 4
        index += 1
        if last is None or last.type_code != et.ROTATE:
            continue
        name, position = _rotate_target(last, state)
        if index < len(files):
            if files[index].name in (name, f"{name}.gz"):
                offset = max(position, 4)
        elif follow:
            following = _beside(path, name)
            if following is not None and following not in seen:
                files.append(following)
                offset = max(position, 4)
