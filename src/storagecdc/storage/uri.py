"""Opening a store from a URI, and printing URIs without secrets.

``s3://bucket/prefix?endpoint=...&region=...``, ``file:///abs/dir`` (or a plain path), ``memory://name``.
The URI's query may also hold sink options (``protocol=csv``...): ``open_store`` takes only the keys in
``STORE_OPTION_KEYS`` from it and leaves the rest to the sink layer. Keys in the explicit ``options`` mapping
must all be store keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from storagecdc.errors import ConfigError
from storagecdc.storage.base import ObjectStore
from storagecdc.storage.local import LocalStore
from storagecdc.storage.memory import named_memory_store
from storagecdc.storage.s3_options import S3Options

S3_OPTION_KEYS = frozenset({
    "endpoint", "region", "access-key", "secret-access-key", "session-token", "force-path-style", "sse",
    "sse-kms-key-id", "storage-class", "retry-deadline", "multipart-threshold", "part-size", "conditional-writes",
})
STORE_OPTION_KEYS = S3_OPTION_KEYS
"""Every option a store accepts (only ``s3://`` stores take any)."""
SECRET_OPTION_KEYS = frozenset({"access-key", "secret-access-key", "session-token", "password", "token"})
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def split_store_options(params: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split URI/config parameters into (store options, everything else)."""
    store = {k: v for k, v in params.items() if k in STORE_OPTION_KEYS}
    rest = {k: v for k, v in params.items() if k not in STORE_OPTION_KEYS}
    return store, rest


def parse_bool(name: str, value: str) -> bool:
    """An option's ``true``/``false`` (also 1/0, yes/no, on/off); ConfigError naming the option otherwise."""
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"option {name} must be true or false, got {value!r}")


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"option {name} must be a number, got {value!r}") from None


def open_store(uri: str, options: Mapping[str, str] | None = None) -> ObjectStore:
    """Open the store a URI names. ``options`` override the URI's query; unknown ones are a ConfigError.

    With ``STORAGECDC_FAILPOINTS`` set, the store is wrapped to kill the process at chosen writes
    (``storagecdc.failpoints``, for crash tests); unset, the store itself is returned.
    """
    store = _open_store(uri, options)
    if not os.environ.get("STORAGECDC_FAILPOINTS"):
        return store
    from storagecdc.failpoints import with_failpoints  # noqa: PLC0415 (it imports storage: import it late)

    return with_failpoints(store)


def _open_store(uri: str, options: Mapping[str, str] | None) -> ObjectStore:
    options = dict(options or {})
    unknown = sorted(set(options) - STORE_OPTION_KEYS)
    if unknown:
        raise ConfigError(f"unknown storage option(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(STORE_OPTION_KEYS))})")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    params = {**split_store_options(query)[0], **options}
    if scheme in ("", "file"):
        if params:
            raise ConfigError(f"option(s) {', '.join(sorted(params))} do not apply to a local directory")
        if scheme == "file" and parts.netloc not in ("", "localhost"):
            raise ConfigError(f"file URI must be file:///absolute/path, got {redact_uri(uri)}")
        path = unquote(parts.path) if scheme == "file" else uri
        if not path:
            raise ConfigError("file URI has no path")
        return LocalStore(Path(path))
    if scheme == "memory":
        if params:
            raise ConfigError(f"option(s) {', '.join(sorted(params))} do not apply to a memory store")
        return named_memory_store(parts.netloc + parts.path)
    if scheme == "s3":
        return _open_s3(parts.netloc, unquote(parts.path), params)
    raise ConfigError(f"unsupported storage URI scheme {scheme!r} in {redact_uri(uri)} "
                      "(use s3://, file:// or memory://)")


def _open_s3(bucket: str, prefix: str, params: Mapping[str, str]) -> ObjectStore:
    def text(name: str) -> str | None:
        value = params.get(name)
        return value if value else None

    def number(name: str, default: float) -> float:
        return _number(name, params[name]) if name in params else default

    defaults = S3Options()
    opts = S3Options(
        endpoint=text("endpoint"),
        region=text("region"),
        access_key=text("access-key"),
        secret_access_key=text("secret-access-key"),
        session_token=text("session-token"),
        force_path_style=parse_bool("force-path-style", params.get("force-path-style", "false")),
        sse=text("sse"),
        sse_kms_key_id=text("sse-kms-key-id"),
        storage_class=text("storage-class"),
        retry_deadline=number("retry-deadline", defaults.retry_deadline),
        multipart_threshold=int(number("multipart-threshold", defaults.multipart_threshold)),
        part_size=int(number("part-size", defaults.part_size)),
        conditional_writes=(None if params.get("conditional-writes", "auto") == "auto"
                            else parse_bool("conditional-writes", params["conditional-writes"])),
    )
    from storagecdc.storage.s3 import S3Store  # noqa: PLC0415 (boto3 loads only when S3 is used)

    return S3Store(bucket, prefix, opts)


def redact_uri(uri: str) -> str:
    """The URI with any password and every secret query value replaced by ``***``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "&".join(
        f"{k}={'***' if k.lower() in SECRET_OPTION_KEYS else quote(v, safe='/:,.-_~')}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
