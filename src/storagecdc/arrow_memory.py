"""Arrow's memory: the C library's allocator instead of the mimalloc that pyarrow uses by default.

Every chunk the sink encodes (and every snapshot chunk parsed) allocates and frees buffers of megabytes. On
Linux, mimalloc gives such memory back to the system soon after it is freed, so the next chunk's buffers
are fresh pages that the kernel zeroes again (with transparent huge pages, 2 MiB at a time): a snapshot of
a million rows spent about 0.4 s of system time that way. glibc's allocator keeps them. Measured in
docs/performance.md ("Snapshot"). ``ARROW_DEFAULT_MEMORY_POOL``, when set, still decides.
"""

from __future__ import annotations

import os

import pyarrow as pa


def use_system_allocator() -> None:
    """Make the C library's allocator Arrow's default pool, unless ``ARROW_DEFAULT_MEMORY_POOL`` says
    otherwise."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
