"""MariaDB's compressed columns (types 140/141): the 1-byte header, raw and zlib-wrapped deflate, values
stored as is, and text decoded in the column charset after inflating."""

from __future__ import annotations

import struct
import zlib

import pytest

from storagecdc.source.binlog import field_types as ft
from storagecdc.source.binlog.rowcodec import ColumnSpec, RowDecodeError, column_specs, compile_decoder
from storagecdc.source.binlog.tablemap import decode_table_map
from storagecdc.source.binlog.values import maria_uncompress


def stored(data: bytes, *, wrap: bool = False) -> bytes:
    """``data`` as MariaDB stores it compressed: header (zlib method, raw flag, size length), size, stream."""
    size_len = max(1, (len(data).bit_length() + 7) // 8)
    deflater = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS if wrap else -zlib.MAX_WBITS)
    stream = deflater.compress(data) + deflater.flush()
    return bytes([0x80 | (0 if wrap else 0x08) | size_len]) + len(data).to_bytes(size_len, "big") + stream


def one(spec: ColumnSpec, value: bytes, prefix: str) -> object:
    buf = b"\x00" + struct.pack("<" + prefix, len(value)) + value
    return compile_decoder((spec,)).decode_rows(buf, 0, len(buf), 1)[0][0]


@pytest.mark.parametrize("size", [2, 255, 256, 70000, 17_000_000])
@pytest.mark.parametrize("wrap", [False, True])
def test_inflates_raw_and_wrapped_streams(size: int, wrap: bool) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert maria_uncompress(stored(data, wrap=wrap)) == data


def test_stored_as_is_and_empty() -> None:
    assert maria_uncompress(b"\x00short") == b"short"
    assert maria_uncompress(b"\x00") == b""
    assert maria_uncompress(b"") == b""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"\x90\x01x", "unknown compression method 9"),
        (b"\x8a\x01", "shorter than its header"),
        (stored(b"abc")[:1] + b"\x04" + stored(b"abc")[2:], "its header says 4"),
        (b"\x89\x03garbage", "cannot be inflated"),
        (stored(b"abcdef")[:-2], "its header says 6"),
    ],
)
def test_bad_values_are_errors(value: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        maria_uncompress(value)


def test_row_decoder_inflates_then_decodes_text() -> None:
    text = "é" * 400
    latin1 = ColumnSpec(ft.BLOB_COMPRESSED, 2, encoding="latin-1", name="t")
    assert one(latin1, stored(text.encode("latin-1")), "H") == text
    utf8 = ColumnSpec(ft.VARCHAR_COMPRESSED, 4000, encoding="utf-8", name="v")
    assert one(utf8, stored(text.encode(), wrap=True), "H") == text
    assert one(ColumnSpec(ft.VARCHAR_COMPRESSED, 100, name="vb"), b"\x00\x00\xff", "B") == b"\x00\xff"
    assert one(ColumnSpec(ft.BLOB_COMPRESSED, 4, name="lb"), b"", "I") == b""


def test_row_decoder_reports_a_bad_value() -> None:
    with pytest.raises(RowDecodeError):
        one(ColumnSpec(ft.BLOB_COMPRESSED, 2, name="b"), b"\xf1\x01x", "H")


def test_table_map_metadata_and_charsets_of_compressed_columns() -> None:
    """BLOB_COMPRESSED has BLOB's 1-byte metadata, VARCHAR_COMPRESSED VARCHAR's 2 bytes, and MariaDB lists
    both among the character columns of COLUMN_CHARSET (as MariaDB 11 writes ``cz`` of the live test)."""
    types = bytes([ft.LONG, ft.BLOB_COMPRESSED, ft.VARCHAR_COMPRESSED, ft.BLOB_COMPRESSED])
    meta = bytes([2]) + struct.pack("<H", 4000) + bytes([2])
    column_charset = bytes([63, 45, 8])  # binary, utf8mb4_general_ci, latin1_swedish_ci
    body = (
        (7).to_bytes(6, "little") + b"\x01\x00" + b"\x01d\x00" + b"\x02cz\x00" + b"\x04" + types
        + bytes([len(meta)]) + meta + b"\x0e" + bytes([3, len(column_charset)]) + column_charset
    )  # fmt: skip
    tm = decode_table_map(body, 8, mariadb=True)
    assert tm.column_types == tuple(types) and tm.column_metas == (0, 2, 4000, 2)
    assert tm.collations == (None, 63, 45, 8)
    specs = column_specs(tm)
    assert [(s.encoding, s.pad_to) for s in specs[1:]] == [(None, 0), ("utf-8", 0), ("mysql_latin1", 0)]
