"""Settings of an S3 store, validated on construction (kept apart from ``s3.py``, which holds boto3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from storagecdc.errors import ConfigError

_SSE_VALUES = ("AES256", "aws:kms")


@dataclass(frozen=True, slots=True)
class S3Options:
    """Connection and write settings of an S3 store (URI/option names in brackets)."""

    endpoint: str | None = None
    """[endpoint] URL of an S3-compatible server; None for AWS."""
    region: str | None = None
    """[region] Signing region; boto3's chain decides when None (``us-east-1`` if nothing is configured)."""
    access_key: str | None = field(default=None, repr=False)
    """[access-key] With ``secret_access_key``; otherwise boto3's credential chain."""
    secret_access_key: str | None = field(default=None, repr=False)
    """[secret-access-key]"""
    session_token: str | None = field(default=None, repr=False)
    """[session-token]"""
    force_path_style: bool = False
    """[force-path-style] ``http://host/bucket/key`` addressing (most S3-compatible servers need it)."""
    sse: str | None = None
    """[sse] Server-side encryption: ``AES256`` or ``aws:kms``."""
    sse_kms_key_id: str | None = None
    """[sse-kms-key-id] KMS key for ``sse=aws:kms``."""
    storage_class: str | None = None
    """[storage-class] e.g. ``STANDARD_IA``."""
    retry_deadline: float = 120.0
    """[retry-deadline] Seconds a failing call is retried before the error is raised."""
    multipart_threshold: int = 16 * 1024 * 1024
    """[multipart-threshold] Objects of at least this many bytes are uploaded in parts."""
    part_size: int = 8 * 1024 * 1024
    """[part-size] Size of each part (S3's minimum is 5 MiB except for the last part)."""
    upload_concurrency: int = 4
    """Parts of one multipart upload sent at once (memory: this many parts in flight)."""
    conditional_writes: bool | None = None
    """[conditional-writes] Whether the store honours ``If-None-Match``/``If-Match``; None: probe once."""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.sse is not None and self.sse not in _SSE_VALUES:
            raise ConfigError(f"sse must be one of {', '.join(_SSE_VALUES)}, got {self.sse!r}")
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ConfigError("sse-kms-key-id needs sse=aws:kms")
        if (self.access_key is None) != (self.secret_access_key is None):
            raise ConfigError("access-key and secret-access-key must be given together")
        if self.retry_deadline <= 0:
            raise ConfigError(f"retry-deadline must be positive, got {self.retry_deadline}")
        if self.upload_concurrency < 1:
            raise ConfigError(f"upload concurrency must be >= 1, got {self.upload_concurrency}")
        if self.part_size < 5 * 1024 * 1024 or self.multipart_threshold < self.part_size:
            raise ConfigError("part-size must be >= 5 MiB and multipart-threshold >= part-size")
