"""Table/database DDL read with sqlglot (MySQL dialect) into ``statements`` values.

Anything sqlglot does not model exactly (it falls back to a ``Command``, or produces a node this module
does not know) gives None, and the caller uses the hand parser instead. Column types are taken from
sqlglot's MySQL rendering of the type and read with ``sqltypes`` so both paths share one type model.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from storagecdc import ddl_types
from storagecdc.errors import SchemaError

from .lexer import open_versioned_comments
from .sqltypes import parse_type_text
from .statements import (
    AddColumn,
    AddPrimaryKey,
    AlterAction,
    AlterTable,
    ChangeColumn,
    ColumnSpec,
    CreateDatabase,
    CreateTable,
    DropColumn,
    DropDatabase,
    DropPrimaryKey,
    DropTables,
    IndexChange,
    OtherAlter,
    Position,
    RenameColumn,
    RenameTo,
    SetDefault,
    SetOptions,
    Statement,
    TableOptions,
    TableRef,
    TruncateTable,
)

_SQLGLOT_LOGGER = logging.getLogger("sqlglot")


class _Unsupported(Exception):
    """sqlglot's tree holds something this module does not translate exactly."""


def parse_with_sqlglot(query: str) -> Statement | None:
    """The statement read by sqlglot, or None when the hand parser must read it."""
    level = _SQLGLOT_LOGGER.level
    _SQLGLOT_LOGGER.setLevel(logging.ERROR)  # sqlglot warns on every statement it keeps as a Command
    try:
        trees = sqlglot.parse(open_versioned_comments(query), read="mysql")
    except SqlglotError:
        return None
    finally:
        _SQLGLOT_LOGGER.setLevel(level)
    found = [t for t in trees if t is not None]
    if len(found) != 1:
        return None
    try:
        return _statement(found[0])
    except (_Unsupported, SchemaError):
        return None


def _statement(tree: exp.Expr) -> Statement | None:
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            return _create_table(tree)
        if kind in ("DATABASE", "SCHEMA"):
            return CreateDatabase(_database_name(tree.this), _options(tree.args.get("properties")),
                                  if_not_exists=bool(tree.args.get("exists")))
    elif isinstance(tree, exp.Drop):
        kind = str(tree.args.get("kind") or "").upper()
        targets = tree.args.get("tables") or [tree.this]
        if kind == "TABLE":
            return DropTables(tuple(_table(t) for t in targets), temporary=bool(tree.args.get("temporary")))
        if kind in ("DATABASE", "SCHEMA") and len(targets) == 1:
            return DropDatabase(_database_name(targets[0]))
    elif isinstance(tree, exp.TruncateTable):
        tables = tree.expressions
        if len(tables) == 1 and not tree.args.get("is_database"):
            return TruncateTable(_table(tables[0]))
    elif isinstance(tree, exp.Alter) and str(tree.args.get("kind") or "").upper() == "TABLE":
        return _alter_table(tree)
    raise _Unsupported(type(tree).__name__)


def _table(node: exp.Expression | None) -> TableRef:
    if not isinstance(node, exp.Table) or node.args.get("catalog"):
        raise _Unsupported("table name")
    db = node.args.get("db")
    return TableRef(db.name if db is not None else None, node.name)


def _charset_option(opts: TableOptions, prop: exp.Expression) -> TableOptions:
    if isinstance(prop, exp.CharacterSetProperty):
        return replace(opts, charset=prop.this.name.lower())
    if isinstance(prop, exp.CollateProperty):
        return replace(opts, collation=prop.this.name.lower())
    return opts


def _database_name(node: exp.Expression | None) -> str:
    """sqlglot keeps ``CREATE DATABASE d``'s name as the table part, ``CREATE SCHEMA d``'s as the db part."""
    ref = _table(node)
    if ref.schema is not None and ref.table:
        raise _Unsupported("qualified database name")
    name = ref.table or ref.schema
    if not name:
        raise _Unsupported("database name")
    return name


def _options(props: exp.Expression | None) -> TableOptions:
    opts = TableOptions()
    for prop in props.expressions if props is not None else []:
        opts = _charset_option(opts, prop)
    return opts


def _create_table(tree: exp.Create) -> CreateTable:
    props = tree.args.get("properties")
    temporary = False
    like: TableRef | None = None
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.TemporaryProperty):
            temporary = True
        elif isinstance(prop, exp.LikeProperty):
            like = _table(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            raise _Unsupported("partitioning")
    target = tree.this
    columns: list[ColumnSpec] = []
    pk: tuple[str, ...] = ()
    if isinstance(target, exp.Schema):
        for item in target.expressions:
            if isinstance(item, exp.ColumnDef):
                columns.append(_column(item))
            elif isinstance(item, exp.PrimaryKey):
                pk = tuple(_key_name(e) for e in item.expressions)
            elif isinstance(item, exp.Constraint) and any(isinstance(e, exp.PrimaryKey) for e in item.expressions):
                if len(item.expressions) != 1:
                    raise _Unsupported("constraint")
                pk = tuple(_key_name(e) for e in item.expressions[0].expressions)
            elif isinstance(item, exp.Constraint | exp.IndexColumnConstraint | exp.UniqueColumnConstraint
                           | exp.ForeignKey | exp.CheckColumnConstraint):
                continue
            else:
                raise _Unsupported(type(item).__name__)
        target = target.this
    if pk:
        keys = {p.lower() for p in pk}
        columns = [replace(c, primary=True, nullable=False) if c.name.lower() in keys else c for c in columns]
    return CreateTable(
        _table(target), tuple(columns), primary_key=pk, options=_options(props),
        if_not_exists=bool(tree.args.get("exists")), like=like,
        as_select=tree.args.get("expression") is not None, temporary=temporary,
    )


def _key_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, exp.Identifier | exp.Column):
        return node.name
    raise _Unsupported("key part")


def _column(node: exp.ColumnDef) -> ColumnSpec:
    kind = node.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise _Unsupported("column without a type")
    col = ColumnSpec(name=node.name, type=parse_type_text(kind.sql(dialect="mysql")))
    if col.type.serial:
        col = replace(col, nullable=False)
    for constraint in node.args.get("constraints") or []:
        col = _constraint(col, constraint.args.get("kind"))
    return col


def _constraint(col: ColumnSpec, c: exp.Expression | None) -> ColumnSpec:
    if isinstance(c, exp.NotNullColumnConstraint):
        return replace(col, nullable=bool(c.args.get("allow_null")))
    if isinstance(c, exp.DefaultColumnConstraint):
        return replace(col, default=_default(c.this), has_default=True)
    if isinstance(c, exp.PrimaryKeyColumnConstraint):
        return replace(col, primary=True, nullable=False)
    if isinstance(c, exp.CharacterSetColumnConstraint):
        return replace(col, type=replace(col.type, charset=c.this.name.lower()))
    if isinstance(c, exp.CollateColumnConstraint):
        return replace(col, type=replace(col.type, collation=c.this.name.lower()))
    if isinstance(c, exp.ZeroFillColumnConstraint):
        return replace(col, type=replace(col.type, unsigned=True, zerofill=True))
    if isinstance(c, exp.ComputedColumnConstraint):
        return replace(col, generated=True)
    if isinstance(c, exp.InvisibleColumnConstraint):
        return replace(col, invisible=True)
    if isinstance(c, exp.UniqueColumnConstraint | exp.AutoIncrementColumnConstraint
                  | exp.CommentColumnConstraint | exp.OnUpdateColumnConstraint | exp.CheckColumnConstraint):
        return col
    raise _Unsupported(type(c).__name__)


def _default(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + str(node.this.this)
    if isinstance(node, exp.Boolean):
        return "1" if node.this else "0"
    if isinstance(node, exp.CurrentTimestamp):
        precision = node.this
        if precision is None or str(precision.name) in ("", "0"):
            return "CURRENT_TIMESTAMP"
        return f"CURRENT_TIMESTAMP({precision.name})"
    raise _Unsupported("default expression")


def _alter_table(tree: exp.Alter) -> AlterTable:
    actions: list[AlterAction] = []
    for action in tree.args.get("actions") or []:
        actions.append(_alter_action(action))
    options = tree.args.get("options") or []
    if actions and options:
        raise _Unsupported("sqlglot keeps options apart from clauses, losing their order")
    opts = TableOptions()
    for prop in options:
        if isinstance(prop, exp.CharacterSetProperty | exp.CollateProperty):
            opts = _charset_option(opts, prop)
        elif isinstance(prop, exp.AutoIncrementProperty):
            actions.append(OtherAlter(ddl_types.REBASE_AUTO_ID))
        elif isinstance(prop, exp.SchemaCommentProperty):
            actions.append(OtherAlter(ddl_types.MODIFY_TABLE_COMMENT))
        elif isinstance(prop, exp.EngineProperty):
            actions.append(OtherAlter(0))
        else:
            raise _Unsupported(type(prop).__name__)
    if opts != TableOptions():
        actions.append(SetOptions(opts))
    if not actions:
        raise _Unsupported("empty ALTER")
    return AlterTable(_table(tree.this), tuple(actions))


def _position(node: exp.Expression | None) -> Position | None:
    if node is None:
        return None
    where = str(node.args.get("position") or "").upper()
    if where == "FIRST":
        return Position(None)
    if where == "AFTER" and node.this is not None:
        return Position(node.this.name)
    raise _Unsupported("column position")


def _alter_action(action: exp.Expression) -> AlterAction:
    if isinstance(action, exp.ColumnDef):
        return AddColumn(_column(action), _position(action.args.get("position")),
                         if_not_exists=bool(action.args.get("exists")))
    if isinstance(action, exp.ModifyColumn):
        col_def = action.this
        if not isinstance(col_def, exp.ColumnDef):
            raise _Unsupported("MODIFY")
        old = action.args.get("rename_from")
        col = _column(col_def)
        return ChangeColumn(old.name if old is not None else col.name, col,
                            _position(col_def.args.get("position")))
    if isinstance(action, exp.Drop):
        kind = str(action.args.get("kind") or "").upper()
        if kind == "COLUMN" and len(action.args.get("tables") or []) == 1:
            return DropColumn(action.args["tables"][0].name, bool(action.args.get("exists")))
        if kind == "INDEX":
            return IndexChange(ddl_types.DROP_INDEX)
        if kind == "FOREIGN KEY":
            return IndexChange(ddl_types.DROP_FOREIGN_KEY)
        raise _Unsupported(f"DROP {kind}")
    if isinstance(action, exp.RenameColumn):
        return RenameColumn(action.this.name, action.args["to"].name)
    if isinstance(action, exp.DropPrimaryKey):
        return DropPrimaryKey()
    if isinstance(action, exp.AlterRename):
        return RenameTo(_table(action.this))
    if isinstance(action, exp.AlterColumn):
        given = {k for k, v in action.args.items() if v is not None and v is not False} - {"this"}
        if given == {"drop"}:
            return SetDefault(action.this.name, None, drop=True)
        if given == {"default"}:
            return SetDefault(action.this.name, _default(action.args["default"]))
        raise _Unsupported("ALTER COLUMN")
    if isinstance(action, exp.AddConstraint) and len(action.expressions) == 1:
        return _add_constraint(action.expressions[0])
    raise _Unsupported(type(action).__name__)


def _add_constraint(node: exp.Expression) -> AlterAction:
    if isinstance(node, exp.Constraint) and len(node.expressions) == 1:
        node = node.expressions[0]
    if isinstance(node, exp.PrimaryKey):
        return AddPrimaryKey(tuple(_key_name(e) for e in node.expressions))
    if isinstance(node, exp.IndexColumnConstraint | exp.UniqueColumnConstraint):
        return IndexChange(ddl_types.ADD_INDEX)
    if isinstance(node, exp.ForeignKey):
        return IndexChange(ddl_types.ADD_FOREIGN_KEY)
    raise _Unsupported(type(node).__name__)
