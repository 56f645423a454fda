"""Queries whose SQL is built once per database connection and run many times.

Building a query's SQL in the ORM (resolving lookups, joins and columns, then compiling) costs
more CPU than running a small indexed SELECT: for the status lookup it was most of a request.
A :class:`PreparedValues` builds its ``values_list`` query once per connection, with marker
values in place of its arguments, and afterwards runs that SQL with the real values through the
connection's cursor like any other query (so query logging, debug tooling and the database
error handling still see it). The rows get the same conversions the ORM applies.

Only queries whose shape does not depend on the values can be prepared: the arguments may only
appear as parameters (``filter(pk=...)``), never decide the query's structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, QuerySet
from django.db.models.sql.compiler import SQLCompiler

__all__ = ["PreparedValues"]

# Marker values the query is built with, found again among its parameters: values no caller
# passes (an id far below zero, a string with NUL characters).
_INT_MARK_BASE = -7_364_019_283_000
_STR_MARK = "\x00prepared:{}\x00"


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    # Per parameter, in order: an argument's name, or a constant of the query (None as name).
    parameters: tuple[tuple[str | None, Any], ...]
    compiler: SQLCompiler
    converters: dict[int, tuple[list[Callable[..., Any]], Expression]]


class PreparedValues:
    """A ``values_list`` query compiled once per connection, run with new argument values.

    ``build`` receives one keyword argument per name in ``arguments`` (whose value, ``int`` or
    ``str``, says the argument's type) and returns the queryset; it is called with marker
    values once per connection.
    """

    def __init__(
        self, name: str, build: Callable[..., QuerySet[Any, Any]], **arguments: type
    ) -> None:
        self._attribute = f"_madoguchi_prepared_{name}"
        self._build = build
        self._marks: dict[str, Any] = {}
        for index, (argument, kind) in enumerate(arguments.items()):
            if kind is int:
                self._marks[argument] = _INT_MARK_BASE - index
            elif kind is str:
                self._marks[argument] = _STR_MARK.format(argument)
            else:
                raise TypeError(f"{name}: argument {argument} must be int or str, not {kind}")

    def _statement(self, connection: BaseDatabaseWrapper) -> _Statement:
        # Kept on the connection object itself (connections belong to one thread each): a
        # module-level mapping would keep every thread's connection alive through its compiler.
        statement = getattr(connection, self._attribute, None)
        if isinstance(statement, _Statement):
            return statement
        query = self._build(**self._marks).using(connection.alias).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        by_mark = {mark: argument for argument, mark in self._marks.items()}
        parameters = tuple(
            (by_mark[param], None) if _is_mark(param, by_mark) else (None, param)
            for param in params
        )
        missing = set(self._marks) - {argument for argument, _ in parameters}
        if missing:
            raise RuntimeError(f"{self._attribute}: arguments not in the query: {missing}")
        columns = [column[0] for column in compiler.select[: compiler.col_count]]
        statement = _Statement(sql, parameters, compiler, compiler.get_converters(columns))
        setattr(connection, self._attribute, statement)
        return statement

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        """The rows of the query for these argument values, converted as the ORM would."""
        connection = connections[using]
        statement = self._statement(connection)
        params = [
            constant if argument is None else values[argument]
            for argument, constant in statement.parameters
        ]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters and rows:
            rows = list(statement.compiler.apply_converters(rows, statement.converters))
        return [tuple(row) for row in rows]

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> tuple[Any, ...] | None:
        """The first row, or None (the query should carry its own ``[:1]``)."""
        return next(iter(self.rows(using=using, **values)), None)


def _is_mark(param: Any, by_mark: dict[Any, str]) -> bool:
    # A constant True must not be taken for a marker that equals 1, nor 1.0 for an int one.
    return type(param) in (int, str) and param in by_mark
