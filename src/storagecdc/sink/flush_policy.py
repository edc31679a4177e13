"""When a table's buffer is written by age: ``flush-interval``, ``min-file-size`` and ``max-flush-interval``.

A buffer (one table span's partition) is due

- at ``flush-interval`` after its oldest change, if it holds at least ``min-file-size`` estimated encoded
  bytes (so busy tables keep the latency of ``flush-interval``);
- at ``max-flush-interval`` after its oldest change, however small (so cold tables write one file per
  ``max-flush-interval`` instead of one per ``flush-interval``).

With ``min-file-size`` 0 (the default) every buffer is due at ``flush-interval``, as before the option
existed. Barriers, file-size cuts and shutdown write a buffer whatever its age; this module only decides the
age-driven writes. AWS DMS's S3 target has the same pair (``CdcMinFileSize``, ``CdcMaxBatchInterval``).

The price: the checkpoint cannot pass the oldest change still buffered anywhere, so with a long
``max-flush-interval`` the checkpoint (and a consumer following it) lags by up to that interval.
"""

from __future__ import annotations

from storagecdc.sink.options import SinkOptions


def buffer_due(options: SinkOptions, age_ms: int, buffered_bytes: float) -> bool:
    """True when a buffer whose oldest change is ``age_ms`` old and holds ``buffered_bytes`` (estimated,
    encoded) must be written now."""
    if age_ms < options.flush_interval_ms:
        return False
    return buffered_bytes >= options.min_file_size or age_ms >= options.max_flush_interval_ms
