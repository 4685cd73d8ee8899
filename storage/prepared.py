"""One row's INSERT, compiled once and run on the driver's own connection.

The hot paths write a row per webhook, command and message (a CI result and its audit row, an
outbox message). Through SQLAlchemy's ``Connection.execute`` each such statement cost 25–30 µs of
CPU around the driver's 5–7 µs — building an execution context and a result for one id — about a
twentieth of a stored CI result in ``andon serve``. The statement is compiled by SQLAlchemy itself,
so its SQL, its parameter style and each column's conversion (a time to UTC text on SQLite, JSON to
text) stay SQLAlchemy's; only the execution is the driver's — unless something listens to the
engine's statements, which then hears this one as it hears any. A driver error is raised as
SQLAlchemy's (an ``IntegrityError`` stays one), and the transaction is the caller's: the same
connection, inside the same ``BEGIN``.
"""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Convert = Callable[[Any], Any] | None


class PreparedInsert(NamedTuple):
    """The SQL of one table's INSERT for one set of columns, and how each value is sent."""

    sql: str
    binds: tuple[tuple[str, Convert], ...]  # in the statement's order: name, conversion
    defaults: Mapping[str, Any]  # the columns' own scalar defaults, for the columns not given
    positional: bool

    def run(self, connection: Connection, values: Mapping[str, Any]) -> int | None:
        """The new row's id, or None when ``ON CONFLICT DO NOTHING`` inserted nothing."""
        given = {**self.defaults, **values} if self.defaults else values
        sent = {
            name: given[name] if convert is None else convert(given[name])
            for name, convert in self.binds
        }
        parameters: Any = tuple(sent.values()) if self.positional else sent
        if _watched(connection):
            return connection.exec_driver_sql(self.sql, parameters).scalar_one_or_none()
        driver = connection.connection.driver_connection
        dialect = connection.dialect
        try:
            row = driver.execute(self.sql, parameters).fetchone()  # type: ignore[union-attr]
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                self.sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        return None if row is None else row[0]


def _watched(connection: Connection) -> bool:
    """Whether something listens to the engine's statements (a tracer, a statement count, the
    echo log): it hears this one too, through SQLAlchemy's execution of the same SQL."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute) or bool(
        connection.engine.echo
    )


def prepared(
    insert: Callable[[Table], Any],
    dialect: Dialect,
    table: Table,
    keys: tuple[str, ...],
    unless: tuple[str, ...],
) -> PreparedInsert:
    """The statement for these columns. A column left out must have no default or a constant one:
    a default computed by a function is SQLAlchemy's execution's to compute, which this skips."""
    unknown = [key for key in keys if key not in table.c]
    if unknown:
        raise TypeError(f"{table.name} has no column {', '.join(unknown)}")
    statement = insert(table).values({key: bindparam(key, type_=table.c[key].type) for key in keys})
    if unless:
        statement = statement.on_conflict_do_nothing(index_elements=list(unless))
    compiled = statement.returning(table.c.id).compile(dialect=dialect)
    defaults = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            raise TypeError(f"{table.name}.{column.key}: give it; its default is computed")
        defaults[column.key] = default.arg
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    types = {name: compiled.binds[name].type for name in names}
    binds = tuple(
        (name, types[name].dialect_impl(dialect).bind_processor(dialect)) for name in names
    )
    return PreparedInsert(compiled.string, binds, defaults, compiled.positional)
