"""The engine and its sessions: SQLite in WAL mode by default, PostgreSQL by URL."""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Mapper
from sqlmodel import Session

from storage.prepared import PreparedInsert, prepared
from storage.writers import Writers

DEFAULT_URL = "sqlite:///./andon.db"
_SCRUB = "andon.scrub"  # a writing session's scrubber, in ``Session.info``
_SQLITE_BUSY_MS = 30_000


class Database:
    """One place that knows the dialect's quirks, so nothing above it has to."""

    def __init__(
        self, url: str = DEFAULT_URL, *, scrub: Callable[[str], str] | None = None
    ) -> None:
        """``scrub``: every text a writing session stores passes through it first (Andon's
        secrets masked), whatever wrote it — a message, an error, an audit row."""
        self.url = _normalise(url)
        self._scrub = scrub
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            # Writers on SQLite take the write lock when they begin (BEGIN IMMEDIATE): a
            # deferred transaction that reads and then writes can fail at once with "database
            # is locked". Readers begin deferred.
            self.engine, self.writer = _sqlite_engines(self.url)
        else:
            self.engine = self.writer = _server_engine(self.url)
        # SQLite has one writer at a time. Threads of this process queue for it here, in order,
        # instead of in SQLite's busy handler, whose back-off sleeps up to 100 ms per try; other
        # processes (the CLI, the git hook) still meet the busy timeout. An urgent write (the
        # courier's) goes before the queue: storage/writers.py.
        self._writers = Writers() if self.is_sqlite else None

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for queries; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self, *, urgent: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back when it raises.
        ``urgent``: a short write someone is waiting for takes SQLite's writer first."""
        turn = self._writers.held(urgent=urgent) if self._writers else nullcontext()
        info = {_SCRUB: self._scrub} if self._scrub is not None else None
        with turn, _Writing(self.writer, expire_on_commit=False, info=info) as session:
            yield session
            session.commit()

    @contextmanager
    def adding(self) -> Iterator["Rows"]:
        """A unit of work that only adds rows (``inserted``): one transaction on a connection,
        committed when the block ends, rolled back when it raises — without the ORM's session,
        whose bookkeeping cost a stored CI result a tenth of its CPU. SQLite's writer is taken
        as ``writing`` takes it."""
        turn = self._writers.held() if self._writers else nullcontext()
        info = {_SCRUB: self._scrub} if self._scrub is not None else {}
        # The connection is taken from the pool and given back outside the writer's turn: the
        # turn covers the transaction alone.
        with self.writer.connect() as connection, turn, connection.begin():
            yield Rows(connection, info)

    def on_disk(self) -> bool:
        """Whether there is a database to open: a SQLite file is created by the first connection,
        so a command that must not create one asks first. A server's database is always there."""
        if not self.is_sqlite:
            return True
        path = make_url(self.url).database or ""
        return path in ("", ":memory:") or Path(path).is_file()

    def shown(self) -> str:
        """The URL as a person may read it: never the password."""
        return make_url(self.url).render_as_string(hide_password=True)

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.writer is not self.engine:
            self.writer.dispose()


class Writes(Protocol):
    """Where ``inserted`` writes: a unit of work's session, or ``Rows``."""

    @property
    def info(self) -> dict[Any, Any]: ...

    def connection(self) -> Connection: ...


class Rows:
    """``Database.adding``'s unit of work: its connection, and the scrubber in ``info`` as a
    writing session carries it."""

    def __init__(self, connection: Connection, info: dict[Any, Any]) -> None:
        self._connection = connection
        self.info = info

    def connection(self) -> Connection:
        return self._connection


def insert_for(session: Session) -> Callable[[Any], Any]:
    """The dialect's ``insert``, which speaks ``ON CONFLICT``: one statement where the ORM would
    read first (SQLite and PostgreSQL spell it alike)."""
    return _insert_of(session.get_bind().dialect.name)


def _insert_of(dialect: str) -> Callable[[Any], Any]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def inserted(
    session: Writes,
    table: Any,
    values: dict[str, Any],
    *,
    unless: tuple[str, ...] = (),
    clean: bool = False,
) -> int | None:
    """One row written at once, past the ORM's unit of work and SQLAlchemy's execution (the hot
    paths' rows: a CI result, an audit row, an outbox message; ``storage.prepared``), its values
    scrubbed as a flush scrubs them (``clean``: the caller scrubbed them). Its id; or, ``unless``
    naming a unique key a stored row holds already, None and nothing written."""
    connection = session.connection()
    row = values if clean else scrubbed(session, values)
    statement = _inserting(connection.dialect, table.__table__, tuple(row), unless)
    return statement.run(connection, row)


@functools.cache
def _inserting(
    dialect: Dialect, table: Table, keys: tuple[str, ...], unless: tuple[str, ...]
) -> PreparedInsert:
    """The statement, prepared once per table and set of columns: preparing it costs more than
    running it."""
    return prepared(_insert_of(dialect.name), dialect, table, keys, unless)


def scrubbed(session: Writes, values: dict[str, Any]) -> dict[str, Any]:
    """Values for a statement that bypasses the ORM's flush (a many-row insert, an upsert), with
    the secrets masked as every flushed row's are."""
    scrub = session.info.get(_SCRUB)
    if scrub is None:
        return values
    return {key: _scrubbed(value, scrub) for key, value in values.items()}


class _Writing(Session):
    """A unit of work's session: what it flushes is scrubbed by the scrubber in its ``info``.
    The hook is on the class, set once: one listened for on each session cost more than a
    slash command's statements."""


@event.listens_for(_Writing, "before_flush")
def _scrub_flushed(session: Session, _context: object, _instances: object) -> None:
    """Each loaded column of each row about to be written, scrubbed."""
    scrub = session.info.get(_SCRUB)
    if scrub is None:
        return
    for row in (*session.new, *session.dirty):
        state = inspect(row)
        columns = _columns(state.mapper)
        for key, value in list(state.dict.items()):  # not loaded: not written either
            if key in columns and isinstance(value, str | dict | list):
                clean = _scrubbed(value, scrub)
                if clean is not value:
                    setattr(row, key, clean)


@functools.cache
def _columns(mapper: Mapper[Any]) -> frozenset[str]:
    return frozenset(column.key for column in mapper.column_attrs)


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    """Text scrubbed, JSON walked; the same object back when nothing changed."""
    if isinstance(value, str):
        clean = scrub(value)
        return value if clean == value else clean
    if isinstance(value, dict):
        pairs = [(_scrubbed(key, scrub), _scrubbed(item, scrub)) for key, item in value.items()]
        changed = any(
            new_key is not key or new is not value[key]
            for (new_key, new), key in zip(pairs, value, strict=True)
        )
        return dict(pairs) if changed else value
    if isinstance(value, list):
        items = [_scrubbed(item, scrub) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    return value


def _normalise(url: str) -> str:
    """Accept the ``postgresql://`` spelling users paste and route it to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engines(url: str) -> tuple[Engine, Engine]:
    """The readers' engine and the writers': one pool of connections, each engine beginning
    its transactions its own way. Through its dialect, not a ``begin`` listener: any listener
    of an engine's connections makes SQLAlchemy dispatch events around every statement, which
    cost a slash command more than its statements."""
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=20
    )
    writer = create_engine(url, pool=engine.pool)
    engine.dialect.do_begin = _beginning("DEFERRED")  # type: ignore[method-assign]
    writer.dialect.do_begin = _beginning("IMMEDIATE")  # type: ignore[method-assign]

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine, writer


def _beginning(mode: str) -> Callable[[Any], None]:
    """A dialect's ``do_begin``: SQLite's own BEGIN (the driver's is turned off on connect)."""

    def do_begin(dbapi_connection: Any) -> None:
        dbapi_connection.execute(f"BEGIN {mode}")

    return do_begin


def _server_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)
