from __future__ import annotations

import pytest

from storagecdc.errors import ConfigError
from storagecdc.model import TableName
from storagecdc.table_filter import TableFilter


def t(schema: str, table: str) -> TableName:
    return TableName(schema, table)


def test_default_selects_user_tables_only() -> None:
    f = TableFilter()
    assert f.match(t("shop", "orders"))
    assert not f.match(t("mysql", "user"))
    assert not f.match(t("performance_schema", "x"))


def test_last_matching_rule_wins() -> None:
    f = TableFilter(["shop.*", "!shop.tmp_*", "shop.tmp_keep"])
    assert f.match(t("shop", "orders"))
    assert not f.match(t("shop", "tmp_1"))
    assert f.match(t("shop", "tmp_keep"))
    assert not f.match(t("other", "orders"))
    assert f.match_schema("shop") and not f.match_schema("other")


def test_backquoted_names_with_dots_and_literal_system_schema() -> None:
    f = TableFilter(["`a.b`.`c.d`", "mysql.user"])
    assert f.match(t("a.b", "c.d"))
    assert f.match(t("mysql", "user"))
    assert not f.match(t("a", "b.c.d"))


@pytest.mark.parametrize("bad", ["shop", ".x", "x.", "!"])
def test_bad_rules_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="table filter"):
        TableFilter([bad])
