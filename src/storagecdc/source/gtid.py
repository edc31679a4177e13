"""GTID sets: MySQL's ``uuid[:tag]:1-5:7`` intervals and MariaDB's ``domain-server-seq`` positions.

Both are kept as the executed set after each transaction, so a position can resume a live stream
(``COM_BINLOG_DUMP_GTID`` / ``@slave_connect_state``) and be recorded in the checkpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storagecdc.errors import ConfigError

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_MARIA = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def _norm_uuid(text: str) -> str:
    h = text.replace("-", "").lower()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass
class MySQLGtidSet:
    """A MySQL executed GTID set: (source uuid, tag) -> sorted, disjoint, half-open intervals."""

    intervals: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> MySQLGtidSet:
        result = cls()
        for part in filter(None, (p.strip() for p in text.replace("\n", "").split(","))):
            fields = part.split(":")
            if not _UUID.match(fields[0]):
                raise ConfigError(f"bad GTID set element {part!r}: expected uuid[:tag]:N[-M]")
            sid, tag = _norm_uuid(fields[0]), ""
            for item in fields[1:]:
                if item and not item[0].isdigit():
                    if not _TAG.match(item):
                        raise ConfigError(f"bad GTID tag {item!r} in {part!r}")
                    tag = item.lower()
                    continue
                lo, _, hi = item.partition("-")
                try:
                    start, stop = int(lo), int(hi or lo)
                except ValueError:
                    raise ConfigError(f"bad GTID interval {item!r} in {part!r}") from None
                if start < 1 or stop < start:
                    raise ConfigError(f"bad GTID interval {item!r} in {part!r}")
                result.add_interval(sid, tag, start, stop + 1)
        return result

    def add(self, sid: str, tag: str, gno: int) -> None:
        """Record one executed transaction ``sid[:tag]:gno``."""
        self.add_interval(sid, tag, gno, gno + 1)

    def add_interval(self, sid: str, tag: str, start: int, stop: int) -> None:
        spans = self.intervals.setdefault((sid, tag), [])
        if spans and spans[-1][1] == start:  # the common case: the next number of the same source
            spans[-1] = (spans[-1][0], stop)
            return
        spans.append((start, stop))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        spans[:] = merged

    def __str__(self) -> str:
        by_sid: dict[str, list[str]] = {}
        for (sid, tag), spans in sorted(self.intervals.items()):
            text = ":".join(f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}" for lo, hi in spans)
            by_sid.setdefault(sid, []).append(f"{tag}:{text}" if tag else text)
        return ",".join(f"{sid}:{':'.join(parts)}" for sid, parts in by_sid.items())

    def encode_sid_block(self) -> bytes:
        """The binary form ``COM_BINLOG_DUMP_GTID`` sends (untagged sources only, as MySQL 8.0 reads it)."""
        out = bytearray(len(self.intervals).to_bytes(8, "little"))
        for (sid, tag), spans in sorted(self.intervals.items()):
            if tag:
                raise ConfigError("tagged GTIDs cannot be sent in COM_BINLOG_DUMP_GTID's untagged format")
            out += bytes.fromhex(sid.replace("-", ""))
            out += len(spans).to_bytes(8, "little")
            for lo, hi in spans:
                out += lo.to_bytes(8, "little") + hi.to_bytes(8, "little")
        return bytes(out)


@dataclass
class MariaDBGtidPos:
    """A MariaDB GTID position: the last ``server-seq`` seen in each replication domain."""

    domains: dict[int, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> MariaDBGtidPos:
        result = cls()
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = _MARIA.match(part)
            if not m:
                raise ConfigError(f"bad MariaDB GTID {part!r}: expected domain-server-seq")
            result.domains[int(m[1])] = (int(m[2]), int(m[3]))
        return result

    def add(self, domain: int, server_id: int, seq: int) -> None:
        self.domains[domain] = (server_id, seq)

    def __str__(self) -> str:
        return ",".join(f"{d}-{s}-{n}" for d, (s, n) in sorted(self.domains.items()))


def parse_gtid_set(text: str) -> MySQLGtidSet | MariaDBGtidPos:
    """Either flavour, told apart by its syntax."""
    first = text.strip().split(",")[0].strip()
    return MariaDBGtidPos.parse(text) if _MARIA.match(first) else MySQLGtidSet.parse(text)
