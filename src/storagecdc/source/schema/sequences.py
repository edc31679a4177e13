"""MariaDB sequences: ``CREATE/ALTER/DROP SEQUENCE``.

A sequence is stored as a one-row table, and ``NEXTVAL()`` logs a rows event for it when it refills its
cache. Its rows are the server's bookkeeping, not data anyone replicates (TiCDC has no sequences either):
the tracker remembers which names are sequences and the transaction assembler passes their rows over.
"""

from __future__ import annotations

from storagecdc.errors import SchemaError
from storagecdc.model import TableName

from .lexer import TokenStream, tokenize


def sequence_statement(query: str, default_schema: str) -> tuple[str, list[TableName]] | None:
    """``("create" | "alter" | "drop", names)`` for a sequence statement, None for anything else."""
    try:
        tokens = tokenize(query)
    except SchemaError:
        return None
    stream = TokenStream(tokens)
    verb = stream.accept_word("CREATE", "ALTER", "DROP")
    if verb is None:
        return None
    if verb == "CREATE":
        stream.accept_words("OR", "REPLACE")
        stream.accept_word("TEMPORARY")
    if stream.accept_word("SEQUENCE") is None:
        return None
    stream.accept_words("IF", "NOT", "EXISTS")
    stream.accept_words("IF", "EXISTS")
    names: list[TableName] = []
    while not stream.at_end():
        schema, name = stream.qualified()
        names.append(TableName(schema or default_schema, name))
        if verb != "DROP" or not stream.accept_punct(","):
            break
    return verb.lower(), names
