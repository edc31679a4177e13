"""JSON bytes exactly as Go's ``encoding/json`` writes them (TiCDC's files are written by Go).

Differences from Python's ``json`` that matter: Go escapes ``<``, ``>``, ``&`` as ``\\u003c``, ``\\u003e``,
``\\u0026`` and U+2028/U+2029 as ``\\u2028``/``\\u2029``; it writes other non-ASCII characters raw,
replaces invalid UTF-8 (here: lone surrogates) with the escape ``\\ufffd``, and uses ``\\b``, ``\\f``,
``\\n``, ``\\r``, ``\\t`` and lower-case ``\\u00xx`` for other control characters (as Python does).
Key order is the caller's (dicts keep insertion order, as Go structs keep field order).
"""

from __future__ import annotations

import json
import re
from typing import Any

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _finish(text: str) -> bytes:
    text = _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group()], text)
    text = _SURROGATE_RE.sub(lambda _: "\\ufffd", text)
    return text.encode("utf-8")


def marshal(value: Any) -> bytes:
    """``json.Marshal``: compact, no trailing newline."""
    return _finish(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def marshal_indent(value: Any, indent: str = "    ") -> bytes:
    """``json.MarshalIndent(v, "", indent)``: no trailing newline; empty arrays/objects stay ``[]``/``{}``."""
    return _finish(json.dumps(value, ensure_ascii=False, indent=indent))
