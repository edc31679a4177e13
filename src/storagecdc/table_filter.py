"""Table filter rules in TiCDC's syntax: ``shop.*``, ``!shop.tmp_*``, ``*.*``.

Each rule is ``schema-pattern.table-pattern`` with shell wildcards (``*``, ``?``, ``[a-z]``); a leading ``!``
excludes. Rules are read in order and the last rule that matches a table decides; a table no rule matches
is excluded (so an empty rule list means everything, written as ``*.*``). Matching is case-insensitive
for schema names and table names, as MySQL's defaults on Linux are not, but TiCDC's are. System schemas
(``mysql``, ``information_schema``, ``performance_schema``, ``sys``) are excluded unless a rule names one
literally.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from storagecdc.errors import ConfigError
from storagecdc.model import TableName

SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


@dataclass(frozen=True, slots=True)
class _Rule:
    exclude: bool
    schema: re.Pattern[str]
    table: re.Pattern[str]
    literal_schema: str | None


class TableFilter:
    """Decides which tables a changefeed replicates."""

    def __init__(self, rules: Sequence[str] = ("*.*",)) -> None:
        self._rules = tuple(_parse(rule) for rule in (rules or ("*.*",)))
        self._cache: dict[TableName, bool] = {}

    def match(self, name: TableName) -> bool:
        hit = self._cache.get(name)
        if hit is None:
            hit = self._decide(name)
            self._cache[name] = hit
        return hit

    def match_schema(self, schema: str) -> bool:
        """True when some table of ``schema`` could be selected (for database-level DDL)."""
        if schema.lower() in SYSTEM_SCHEMAS and not self._names_literally(schema):
            return False
        return any(not r.exclude and r.schema.match(schema) for r in self._rules)

    def _names_literally(self, schema: str) -> bool:
        return any(r.literal_schema == schema.lower() for r in self._rules if not r.exclude)

    def _decide(self, name: TableName) -> bool:
        if name.schema.lower() in SYSTEM_SCHEMAS and not self._names_literally(name.schema):
            return False
        decision = False
        for rule in self._rules:
            if rule.schema.match(name.schema) and rule.table.match(name.table):
                decision = not rule.exclude
        return decision


def _parse(text: str) -> _Rule:
    rule = text.strip()
    exclude = rule.startswith("!")
    if exclude:
        rule = rule[1:].strip()
    schema, dot, table = _split(rule)
    if not dot or not schema or not table:
        raise ConfigError(f"bad table filter rule {text!r}: expected schema.table, e.g. shop.* or !shop.tmp_*")
    literal = None if any(c in schema for c in "*?[") else schema.lower()
    return _Rule(exclude, _compile(schema), _compile(table), literal)


def _split(rule: str) -> tuple[str, str, str]:
    """Split at the first dot outside back-quotes; back-quoted parts may contain dots."""
    quoted = False
    for i, ch in enumerate(rule):
        if ch == "`":
            quoted = not quoted
        elif ch == "." and not quoted:
            return _unquote(rule[:i]), ".", _unquote(rule[i + 1 :])
    return rule, "", ""


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] == "`":
        return part[1:-1].replace("``", "`")
    return part


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE | re.DOTALL)
