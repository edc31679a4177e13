"""Source generation of specialised row-image decoders, one per (column specs, present columns).

A row image is a null bitmap over the present columns, then the non-NULL values. The generated code has
two paths per image:

* no NULL in the row (the bitmap is all zero bytes): fixed-width columns are unpacked in runs by one
  precompiled ``struct.Struct.unpack_from`` each, a run also taking the length prefix of the
  variable-length column that follows it; strings are sliced and decoded inline;
* some NULLs: a run is unpacked whole when none of its columns is NULL, else column by column.

Columns that are not present are ``model.ABSENT``. Everything is straight-line code: no per-value dispatch.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from storagecdc.model import ABSENT
from storagecdc.source.binlog.rowplan import ColumnPlan, plan_column, prefix_length_expr
from storagecdc.source.binlog.rowspec import ColumnSpec


class _Gen:
    """Emits the statements of image decoders into one namespace."""

    def __init__(self, specs: Sequence[ColumnSpec], json_raw: bool) -> None:
        self.ns: dict[str, Any] = {"_ifb": int.from_bytes, "_ABSENT": ABSENT}
        self.plans = [plan_column(i, s, self.ns, json_raw) for i, s in enumerate(specs)]
        self._structs: dict[str, str] = {}

    def struct(self, fmt: str) -> tuple[str, int]:
        """Name of the bound ``unpack_from`` of a little-endian struct, and its size."""
        name = self._structs.get(fmt)
        if name is None:
            name = f"_u{len(self._structs)}"
            self._structs[fmt] = name
            self.ns[name] = struct.Struct("<" + fmt).unpack_from
        return name, struct.calcsize("<" + fmt)

    def image(self, present: Sequence[int], ind: str, tag: str) -> list[str]:
        """Statements decoding one image at ``p`` into ``v{tag}_{i}``, leaving ``p`` after it."""
        nb = (len(present) + 7) // 8
        lines: list[str] = []
        if nb == 0:
            return self._fast(present, ind, tag)
        if nb == 1:
            test = "buf[p]"
        elif nb == 2:
            test = "buf[p] or buf[p + 1]"
        else:
            self.ns[f"_z{nb}"] = bytes(nb)
            test = f"buf[p:p + {nb}] != _z{nb}"
        lines.append(f"{ind}if {test}:")
        lines.append(f"{ind}    nulls = _ifb(buf[p:p + {nb}], 'little')")
        lines.append(f"{ind}    p += {nb}")
        lines += self._slow(present, ind + "    ", tag)
        lines.append(f"{ind}else:")
        lines.append(f"{ind}    p += {nb}")
        lines += self._fast(present, ind + "    ", tag)
        return lines

    def row_tuple(self, ncols: int, present: Sequence[int], tag: str) -> str:
        have = set(present)
        items = [f"v{tag}_{i}" if i in have else "_ABSENT" for i in range(ncols)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

    def _fast(self, present: Sequence[int], ind: str, tag: str) -> list[str]:
        lines: list[str] = []
        fmt = ""
        fields: list[str] = []
        pending: list[tuple[int, ColumnPlan, list[str]]] = []

        def flush(var: tuple[int, ColumnPlan, list[str]] | None) -> None:
            nonlocal fmt, fields, pending
            if fmt:
                name, size = self.struct(fmt)
                target = ", ".join(fields) + ("," if len(fields) == 1 else "")
                lines.append(f"{ind}{target} = {name}(buf, p)")
                lines.append(f"{ind}p += {size}")
            for i, plan, names in pending:
                if names[0][0] != "v":
                    lines.append(f"{ind}v{tag}_{i} = {plan.expr.format(*names)}")
            if var is not None:
                i, plan, names = var
                n = prefix_length_expr(plan).format(*names)
                lines.append(f"{ind}n = {n}")
                lines.append(f"{ind}v{tag}_{i} = {plan.expr.format(s='buf[p:p + n]')}")
                lines.append(f"{ind}p += n")
            fmt, fields, pending = "", [], []

        for i in present:
            plan = self.plans[i]
            if plan.kind == "empty":
                lines.append(f"{ind}v{tag}_{i} = None")
                continue
            names = _field_names(i, plan, tag)
            fmt += plan.fmt
            fields += names
            if plan.kind == "fixed":
                pending.append((i, plan, names))
            else:
                flush((i, plan, names))
        flush(None)
        return lines

    def _slow(self, present: Sequence[int], ind: str, tag: str) -> list[str]:
        lines: list[str] = []
        run: list[tuple[int, int]] = []

        def flush_run() -> None:
            if len(run) > 1:
                mask = sum(1 << bit for _, bit in run)
                lines.append(f"{ind}if not nulls & {mask}:")
                lines.extend(self._fixed_run(run, ind + "    ", tag))
                lines.append(f"{ind}else:")
                inner = ind + "    "
            else:
                inner = ind
            for i, bit in run:
                lines.append(f"{inner}if nulls & {1 << bit}:")
                lines.append(f"{inner}    v{tag}_{i} = None")
                lines.append(f"{inner}else:")
                lines.extend(self._fixed_run([(i, bit)], inner + "    ", tag))
            run.clear()

        for bit, i in enumerate(present):
            plan = self.plans[i]
            if plan.kind == "fixed":
                run.append((i, bit))
                continue
            flush_run()
            if plan.kind == "empty":
                lines.append(f"{ind}v{tag}_{i} = None")
                continue
            name, size = self.struct(plan.fmt)
            names = [f"f{i}_{k}" for k in range(plan.nfields)]
            target = ", ".join(names) + ("," if len(names) == 1 else "")
            lines.append(f"{ind}if nulls & {1 << bit}:")
            lines.append(f"{ind}    v{tag}_{i} = None")
            lines.append(f"{ind}else:")
            lines.append(f"{ind}    {target} = {name}(buf, p)")
            lines.append(f"{ind}    n = {prefix_length_expr(plan).format(*names)}")
            lines.append(f"{ind}    p += {size}")
            lines.append(f"{ind}    v{tag}_{i} = {plan.expr.format(s='buf[p:p + n]')}")
            lines.append(f"{ind}    p += n")
        flush_run()
        return lines

    def _fixed_run(self, run: Sequence[tuple[int, int]], ind: str, tag: str) -> list[str]:
        fmt = "".join(self.plans[i].fmt for i, _ in run)
        name, size = self.struct(fmt)
        fields: list[str] = []
        exprs: list[str] = []
        for i, _ in run:
            names = _field_names(i, self.plans[i], tag)
            fields += names
            if names[0][0] != "v":
                exprs.append(f"{ind}v{tag}_{i} = {self.plans[i].expr.format(*names)}")
        target = ", ".join(fields) + ("," if len(fields) == 1 else "")
        return [f"{ind}{target} = {name}(buf, p)", f"{ind}p += {size}", *exprs]


def _field_names(i: int, plan: ColumnPlan, tag: str) -> list[str]:
    """Unpack targets of a column's fields: the value variable itself when the value is the field."""
    if plan.kind == "fixed" and plan.expr == "{0}":
        return [f"v{tag}_{i}"]
    return [f"f{i}_{k}" for k in range(plan.nfields)]


def _present_list(present: int, ncols: int) -> list[int]:
    if present >> ncols:
        raise ValueError(f"column bitmap {present:#x} names columns beyond the table's {ncols}")
    return [i for i in range(ncols) if present >> i & 1]


def _compile(gen: _Gen, src: str, name: str) -> Callable[..., Any]:
    code = compile(src, f"<rowcodec {name}>", "exec")
    exec(code, gen.ns)
    fn: Callable[..., Any] = gen.ns[name]
    return fn


def build_rows(specs: Sequence[ColumnSpec], present: int) -> Callable[..., list[tuple[Any, ...]]]:
    """``rows(buf, pos, end, fail) -> rows``: every image in ``buf[pos:end]`` (WRITE/DELETE rows)."""
    cols = _present_list(present, len(specs))
    gen = _Gen(specs, json_raw=False)
    body = gen.image(cols, "            ", "a")
    src = "\n".join(
        [
            "def rows(buf, p, end, fail):",
            "    out = []",
            "    append = out.append",
            "    r = p",
            "    try:",
            "        while p < end:",
            "            r = p",
            *body,
            f"            append({gen.row_tuple(len(specs), cols, 'a')})",
            "    except DECODE_ERRORS as exc:",
            "        raise fail(r, exc) from exc",
            "    if p != end:",
            "        raise fail(r, None)",
            "    return out",
        ]
    )
    gen.ns["DECODE_ERRORS"] = DECODE_ERRORS
    return _compile(gen, src, "rows")


def build_updates(
    specs: Sequence[ColumnSpec], before: int, after: int
) -> Callable[..., tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """``updates(buf, pos, end, fail) -> (before rows, after rows)`` for UPDATE_ROWS images."""
    bcols = _present_list(before, len(specs))
    acols = _present_list(after, len(specs))
    gen = _Gen(specs, json_raw=False)
    src = "\n".join(
        [
            "def updates(buf, p, end, fail):",
            "    bout = []",
            "    aout = []",
            "    bappend = bout.append",
            "    aappend = aout.append",
            "    r = p",
            "    try:",
            "        while p < end:",
            "            r = p",
            *gen.image(bcols, "            ", "b"),
            f"            bappend({gen.row_tuple(len(specs), bcols, 'b')})",
            *gen.image(acols, "            ", "a"),
            f"            aappend({gen.row_tuple(len(specs), acols, 'a')})",
            "    except DECODE_ERRORS as exc:",
            "        raise fail(r, exc) from exc",
            "    if p != end:",
            "        raise fail(r, None)",
            "    return bout, aout",
        ]
    )
    gen.ns["DECODE_ERRORS"] = DECODE_ERRORS
    return _compile(gen, src, "updates")


def build_image(specs: Sequence[ColumnSpec], present: int) -> Callable[[bytes, int], tuple[tuple[Any, ...], int]]:
    """``image(buf, pos) -> (row, pos after it)`` for one image, JSON columns left as raw bytes."""
    cols = _present_list(present, len(specs))
    gen = _Gen(specs, json_raw=True)
    src = "\n".join(
        [
            "def image(buf, p):",
            *gen.image(cols, "    ", "a"),
            f"    return {gen.row_tuple(len(specs), cols, 'a')}, p",
        ]
    )
    return _compile(gen, src, "image")


DECODE_ERRORS = (struct.error, IndexError, ValueError, UnicodeDecodeError, KeyError, OverflowError)
