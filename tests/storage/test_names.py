"""Identifier encoding: readable names unchanged, hostile names safe, decoding exact."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagecdc.errors import ConsumerError
from storagecdc.storage.names import MAX_SEGMENT_BYTES, decode_segment, encode_segment

READABLE = ["orders", "Order_Items", "t-1", "price$", "名前", "données", "таблица", "t.1", "x2", "_storagecdcx"]

GOLDEN = [
    ("a/b", "a%2Fb"),
    ("..", "%2E%2E"),
    (".", "%2E"),
    ("", "%"),
    (" x ", "%20x%20"),
    ("it's", "it%27s"),
    ("back`tick", "back%60tick"),
    ("100%", "100%25"),
    ("new\nline", "new%0Aline"),
    ("trailing.", "trailing%2E"),
    (".hidden", "%2Ehidden"),
    ("名前 表", "名前%20表"),
    ("名前\u3000表", "名前%E3%80%80表"),
    ("metadata", "%6Detadata"),
    ("METADATA", "%4DETADATA"),
    ("_storagecdc", "%5Fstoragecdc"),
    ("~x", "%7Ex"),
    ("a\\b", "a%5Cb"),
    ("tab\tname", "tab%09name"),
    ("emoji😀", "emoji😀"),
    ("rtl\u202eoverride", "rtl%E2%80%AEoverride"),
    ("zero\u200bwidth", "zero%E2%80%8Bwidth"),
    ("private\ue000use", "private\ue000use"),
]


@pytest.mark.parametrize("name", READABLE)
def test_readable_names_are_unchanged(name: str) -> None:
    assert encode_segment(name) == name
    assert decode_segment(name) == name


@pytest.mark.parametrize(("name", "segment"), GOLDEN)
def test_golden_encodings(name: str, segment: str) -> None:
    assert encode_segment(name) == segment
    assert decode_segment(segment) == name


def test_long_names_are_packed_within_the_filesystem_limit() -> None:
    for name in ["\U0001d400" * 64, "\u3000" * 64, "😀" * 64]:
        segment = encode_segment(name)
        assert len(segment.encode()) <= 225 < MAX_SEGMENT_BYTES
        assert segment.startswith("~")
        assert decode_segment(segment) == name
    assert encode_segment("名" * 64) == "名" * 64  # 192 bytes: kept readable
    assert encode_segment("/" * 64) == "%2F" * 64


@pytest.mark.parametrize("bad", ["%4", "%zz", "%2f", "%41", "a%", "%FF", "~!!", "%2Fa/b"])
def test_non_canonical_segments_are_rejected(bad: str) -> None:
    with pytest.raises(ConsumerError):
        decode_segment(bad)


def test_raw_segments_from_ticdc_decode_to_themselves() -> None:
    assert decode_segment("my table") == "my table"
    assert decode_segment("it's") == "it's"


def _safe(segment: str) -> bool:
    return (segment not in ("", ".", "..") and "/" not in segment and "\\" not in segment
            and not segment.startswith(".") and not segment.endswith(".")
            and all(unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp") for c in segment)
            and segment.casefold() not in ("metadata", "_storagecdc"))


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=80))
def test_round_trip_and_safety_for_arbitrary_strings(name: str) -> None:
    segment = encode_segment(name)
    assert decode_segment(segment) == name
    assert _safe(segment)
    if len(name) <= 64:
        assert len(segment.encode("utf-8", "surrogatepass")) <= MAX_SEGMENT_BYTES


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=64))
def test_segments_are_valid_utf8(name: str) -> None:
    encode_segment(name).encode("utf-8")
