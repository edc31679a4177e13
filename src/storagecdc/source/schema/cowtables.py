"""``CowTables``: the tracker's table map, whose snapshots share its storage.

The resume points keep the schema state of every transaction boundary a checkpoint may still pick, which
for a changefeed that learns 10,000 tables in its first seconds (and whose checkpoint waits up to
``max-flush-interval`` for cold tables) is 10,000 states of up to 10,000 tables each. A plain dict copy per
state is quadratic in memory; here the tables live in ``BUCKETS`` dicts by hash, ``freeze()`` shares them
all with the snapshot in O(``BUCKETS``), and a later write copies only the one bucket it changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

BUCKETS = 256


class FrozenTables(Mapping[K, V]):
    """A read-only view of a ``CowTables`` as it was at ``freeze()``."""

    __slots__ = ("_buckets", "_len")

    def __init__(self, buckets: tuple[dict[K, V], ...], length: int) -> None:
        self._buckets = buckets
        self._len = length

    def __getitem__(self, key: K) -> V:
        return self._buckets[hash(key) % BUCKETS][key]

    def __iter__(self) -> Iterator[K]:
        for bucket in self._buckets:
            yield from bucket

    def __len__(self) -> int:
        return self._len


class CowTables(MutableMapping[K, V]):
    """A mutable map with cheap, isolated snapshots (``freeze``)."""

    __slots__ = ("_buckets", "_frozen", "_len", "_shared")

    def __init__(self) -> None:
        self._buckets: list[dict[K, V]] = [{} for _ in range(BUCKETS)]
        self._shared = bytearray(BUCKETS)
        self._len = 0
        self._frozen: FrozenTables[K, V] | None = None

    def freeze(self) -> FrozenTables[K, V]:
        """The map as it is now; writes after this leave it unchanged (freezing again without a write in
        between returns the same view)."""
        if self._frozen is None:
            self._shared = bytearray(b"\x01" * BUCKETS)
            self._frozen = FrozenTables(tuple(self._buckets), self._len)
        return self._frozen

    def _own(self, i: int) -> dict[K, V]:
        self._frozen = None
        if self._shared[i]:
            self._buckets[i] = dict(self._buckets[i])
            self._shared[i] = 0
        return self._buckets[i]

    def __getitem__(self, key: K) -> V:
        return self._buckets[hash(key) % BUCKETS][key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        return self._buckets[hash(key) % BUCKETS].get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets[hash(key) % BUCKETS]

    def __setitem__(self, key: K, value: V) -> None:
        bucket = self._own(hash(key) % BUCKETS)
        if key not in bucket:
            self._len += 1
        bucket[key] = value

    def __delitem__(self, key: K) -> None:
        i = hash(key) % BUCKETS
        if key not in self._buckets[i]:
            raise KeyError(key)
        del self._own(i)[key]
        self._len -= 1

    def __iter__(self) -> Iterator[K]:
        for bucket in self._buckets:
            yield from bucket

    def __len__(self) -> int:
        return self._len
