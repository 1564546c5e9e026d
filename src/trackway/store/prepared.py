"""The write path's statements on SQLite, compiled once, run on the cursor.

Going through `Connection.execute` costs some 50 microseconds a statement
on top of SQLite's own few: parameter processing, the execution context,
the result's metadata. A tracking call runs about ten statements, all in
the one writer thread, so that cost caps ingest. Here each statement is
compiled once by SQLAlchemy to SQLite's text with its parameter order and
its columns' converters, and run on the transaction's own DBAPI
connection. The rows it gives read like SQLAlchemy's (`row.name`,
`row._mapping`), and a failure is raised as SQLAlchemy's DBAPIError, as
the callers expect.
"""

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Convert = Callable[[Any], Any] | None


class PreparedRow:
    """A result row: columns as attributes, and `_mapping` as on Row."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class Prepared:
    """One statement as SQLite text, with how to pass and read values."""

    def __init__(
        self, statement: ClauseElement, connection: Connection, keys: Sequence[str]
    ) -> None:
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        names = list(compiled.positiontup or [])
        self._names = names
        # Literals of the statement (`coalesce(x, '')`) travel as parameters;
        # a parameter the caller must give is a KeyError when missing.
        binds = [compiled.binds[name] for name in names]
        self._literals = {
            name: bind.effective_value
            for name, bind in zip(names, binds, strict=True)
            if not bind.required
        }
        self._binds: list[Convert] = [
            bind.type.bind_processor(dialect) for bind in binds
        ]
        columns = list(getattr(statement, "exported_columns", []))
        self._columns = [column.key for column in columns]
        self._results: list[Convert] = [
            column.type.result_processor(dialect, None) for column in columns
        ]

    def values(self, parameters: Mapping[str, Any]) -> list[Any]:
        given = (
            parameters[name] if name in parameters else self._literals[name]
            for name in self._names
        )
        return [
            value if convert is None else convert(value)
            for convert, value in zip(self._binds, given, strict=True)
        ]

    def row(self, values: tuple[Any, ...]) -> PreparedRow:
        converted = (
            value if convert is None else convert(value)
            for convert, value in zip(self._results, values, strict=True)
        )
        return PreparedRow(dict(zip(self._columns, converted, strict=True)))


_prepared: dict[tuple[ClauseElement, tuple[str, ...]], Prepared] = {}


def run(
    connection: Connection, statement: ClauseElement, parameters: Mapping[str, Any]
) -> list[PreparedRow]:
    """Execute `statement` in the connection's transaction; its rows, if
    it returns any (a SELECT, or RETURNING).

    For statements built once, as module constants: each one is compiled
    on first use and kept for the life of the process.
    """
    keys = tuple(parameters)
    prepared = _prepared.get((statement, keys))
    if prepared is None:
        prepared = Prepared(statement, connection, keys)
        _prepared[(statement, keys)] = prepared
    values = prepared.values(parameters)
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    try:
        rows = raw.execute(prepared.sql, values).fetchall()
    except sqlite3.Error as error:
        raise DBAPIError.instance(
            prepared.sql, None, error, sqlite3.Error, hide_parameters=True
        ) from error
    return [prepared.row(row) for row in rows]
