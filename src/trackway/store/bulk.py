"""Statements run for many rows at once, compiled once, handed to the driver.

SQLAlchemy's executemany converts every parameter of every row in Python.
For the thousands of rows of an import batch, `Bulk` compiles its
statement once for the connection's dialect, encodes the JSON parameters
itself (the only ones that need converting), and gives the driver plain
tuples, or dicts to a driver that takes named parameters. Rows that are
domain objects whose attributes are named as the columns go in without a
dict in between (`execute_objects`).
"""

from collections.abc import Callable, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from trackway.store.jsontext import JsonText, encode


class Bulk:
    """One statement, and how to turn rows of named values into its
    parameters."""

    def __init__(self, connection: Connection, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=connection.dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._json = [
            name
            for name, bind in compiled.binds.items()
            if isinstance(bind.type, JsonText)
        ]
        names = self._names = list(compiled.positiontup or compiled.binds)
        self._positions = names if compiled.positional else None
        self._order = _tuple_of(itemgetter, names) if compiled.positional else None
        self._encoded = [i for i, name in enumerate(names) if name in self._json]
        self._attributes = _tuple_of(attrgetter, [_attribute(n) for n in names])

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Run the statement once per row; `rows` are changed (JSON encoded)."""
        if not rows:
            return
        for name in self._json:
            for row in rows:
                row[name] = encode(row[name])
        order = self._order
        params = list(rows) if order is None else [order(row) for row in rows]
        connection.exec_driver_sql(self.sql, params)

    def execute_objects(self, connection: Connection, objects: Sequence[Any]) -> None:
        """Run the statement once per object, each parameter read from the
        attribute named as its column (a `k_` or `v_` prefix dropped)."""
        if not objects:
            return
        params: list[Any] = [self._values(item) for item in objects]
        if self._positions is None:
            params = [dict(zip(self._names, row, strict=True)) for row in params]
        connection.exec_driver_sql(self.sql, params)

    def _values(self, item: Any) -> Sequence[Any]:
        values = self._attributes(item)
        if not self._encoded:
            return values
        row = list(values)
        for position in self._encoded:
            row[position] = encode(row[position])
        return tuple(row)

    def execute_values(
        self,
        connection: Connection,
        names: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Run the statement once per row of values for `names`, in that
        order, JSON values already encoded (the cheapest way in)."""
        if not rows:
            return
        if self._positions is None:
            params: Sequence[Any] = [dict(zip(names, row, strict=True)) for row in rows]
        else:
            assert list(names) == self._positions, "values out of order"
            params = rows
        connection.exec_driver_sql(self.sql, list(params))


def _attribute(parameter: str) -> str:
    """The attribute that gives `parameter`: its column's name."""
    if parameter.startswith(("k_", "v_")):
        return parameter[2:]
    return parameter


def _tuple_of(
    getter: Callable[..., Callable[[Any], Any]], names: list[str]
) -> Callable[[Any], tuple[Any, ...]]:
    """`getter(*names)`, giving a tuple even for one name (itemgetter and
    attrgetter of one name give the value alone)."""
    if len(names) > 1:
        return getter(*names)
    one = getter(names[0])
    return lambda row: (one(row),)
