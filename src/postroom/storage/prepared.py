"""Statements run for every message, compiled once per dialect and run as the driver's SQL.

`Connection.execute` of a Core statement finds its compiled form in the engine's cache and
builds the parameters through it at every call: ~70 us of CPU on the development machine
for an UPDATE of one outbox row, where SQLite takes ~20 us to run it and the driver's SQL
(`Connection.exec_driver_sql`) ~35 us. The outbox sender runs three such statements a
message (bench/README.md, bench/send.py). A `Prepared` statement is compiled once for each
dialect it meets; each call puts its parameters through the same bind processors SQLAlchemy
would (the column types: `RemoteText` and `RemoteJSON`'s `storable`, JSON, SQLite's
datetimes), in the compiled order, and runs the compiled text with
`Connection.exec_driver_sql`: the database gets what ``conn.execute(statement, parameters)``
would send it, and an error goes through the engine's handlers as any statement's does
(`storage.database`: an outage is a `StorageUnavailableError`).

Only for statements whose text does not depend on the values: no ``IN`` lists expanded at
execution, no literals rendered (refused when compiled).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ClauseElement, Connection, CursorResult, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

_NO_VALUE = object()


@dataclass(frozen=True)
class _Plan:
    """One dialect's compiled text and, for each parameter in its order, its key (the name
    the caller gives, or a value fixed in the statement) and its type's bind processor."""

    sql: str
    positional: bool
    parameters: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]
    """(the driver's name, the caller's name, the statement's own value, processor)"""

    def bind(self, given: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        for _, name, fixed, process in self.parameters:
            value = given.get(name, fixed)
            if value is _NO_VALUE:
                raise KeyError(f"no value for the parameter {name!r}")
            values.append(process(value) if process is not None else value)
        if self.positional:
            return tuple(values)
        return {key: value for (key, *_), value in zip(self.parameters, values, strict=True)}


class Prepared:
    """A Core statement, compiled once per dialect, run with bound parameters."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = weakref.WeakKeyDictionary()

    def execute(self, conn: Connection, parameters: Mapping[str, Any]) -> CursorResult[Any]:
        """Run the statement on ``conn`` with ``parameters`` (by their bindparam names)."""
        dialect = conn.dialect
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _compile(self.statement, dialect)
        return conn.exec_driver_sql(plan.sql, plan.bind(parameters))


def _compile(statement: ClauseElement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"not a SQL statement: {statement!r}")
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a statement whose text depends on its values cannot be prepared")
    if compiled.positional:
        binds = [(name, compiled.binds[name]) for name in compiled.positiontup or ()]
    else:
        binds = [(name, bind) for bind, name in compiled.bind_names.items()]
    escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
    parameters = []
    for name, bind in binds:
        if bind.callable is not None:
            raise ValueError(f"the parameter {name!r} is computed at execution")
        fixed = _NO_VALUE if bind.required else bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        # The caller names a parameter by its bindparam's key, as `Connection.execute`
        # does; a value the statement holds is never given (its key is an anonymous one).
        parameters.append((escaped.get(name, name), str(bind.key), fixed, process))
    return _Plan(compiled.string, compiled.positional, tuple(parameters))
