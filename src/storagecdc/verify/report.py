"""The printed report: one table of tables per comparison, then the differing rows of each table."""

from __future__ import annotations

from collections.abc import Sequence

from storagecdc.verify.compare import TableResult, Values
from storagecdc.verify.verifier import Comparison

_MAX_VALUE = 60


def _value(v: str | None) -> str:
    if v is None:
        return "NULL"
    text = repr(v)
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE - 3] + "..."


def _row(columns: Sequence[str], values: Values) -> str:
    return "(" + ", ".join(f"{c}={_value(v)}" for c, v in zip(columns, values, strict=True)) + ")"


def _rows(columns: Sequence[str], rows: Sequence[Values]) -> str:
    if not rows:
        return "absent"
    if len(rows) == 1:
        return _row(columns, rows[0])
    return f"{len(rows)} x {_row(columns, rows[0])}" if len(set(rows)) == 1 else "; ".join(
        _row(columns, r) for r in rows)


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


def _details(c: Comparison, r: TableResult) -> list[str]:
    lines = [f"  {r.name}: {r.status}" + (f" ({r.detail})" if r.detail else "")]
    for d in r.diffs:
        key = ", ".join(f"{k}={_value(v)}" for k, v in zip(r.key_columns, d.key, strict=True)) if r.key_columns \
            else "(no primary key: the whole row)"
        lines.append(f"    key {key}:")
        lines.append(f"      {c.a}: {_rows(r.columns, d.a)}")
        lines.append(f"      {c.b}: {_rows(r.columns, d.b)}")
    return lines


def format_comparison(c: Comparison) -> str:
    """The table of tables (name, rows on each side, status) and the details of the differing ones."""
    header = ("TABLE", f"{c.a.upper()} ROWS", f"{c.b.upper()} ROWS", "STATUS")
    body = [(str(r.name), _count(r.a_rows), _count(r.b_rows), r.status) for r in c.results]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(3)]
    lines = [f"{c.a} vs {c.b} at commit-ts {c.commit_ts} ({c.where}): "
             + ("equal" if c.equal else f"{sum(not r.equal for r in c.results)} of {len(c.results)} tables differ")]
    for row in [header, *body]:
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]), row[3]]))
    if not c.results:
        lines.append("(no tables selected)")
    for r in c.results:
        if not r.equal:
            lines.extend(_details(c, r))
    return "\n".join(lines)
