"""Schema migrations: Alembic driven from code, so `andon db upgrade` needs no alembic.ini.

Alembic itself is loaded only to migrate: every other command asks where the database stands
by reading its ``alembic_version`` row against the newest migration file, without it.
"""

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^revision: str = "(?P<id>[^"]+)"$', re.M)
_REVISES = re.compile(r'^down_revision: str \| None = (?:"(?P<id>[^"]+)"|None)$', re.M)


def _config(database: Database) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    # On SQLite the migration takes the write lock as it begins, before it reads the version:
    # a second process starting at once waits, then finds the schema current.
    config.attributes["engine"] = database.writer
    return config


def upgrade(database: Database, *, to: str = "head") -> None:
    """Bring the schema to the newest revision (or ``to``, for a test of one migration); safe to
    run on every start. A database already at the newest is only read: Alembic, a tenth of a
    start's imports, is loaded when there is something to migrate (and checks again, under the
    lock, should another process be migrating at the same moment)."""
    if to == "head" and database.on_disk() and is_current(database):
        return
    from alembic import command

    command.upgrade(_config(database), to)


def revision(database: Database, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    from alembic import command

    command.revision(_config(database), message=message, autogenerate=True)


class Schema(StrEnum):
    MISSING = "missing"  # no database, or one Andon never set up
    BEHIND = "behind"  # an older Andon's: `andon db upgrade` brings it up
    CURRENT = "current"


def schema(database: Database) -> Schema:
    """Where the database stands — asked without creating it."""
    if not database.on_disk():
        return Schema.MISSING
    found = _stands_at(database)
    if found is None:
        return Schema.MISSING
    return Schema.CURRENT if found == head() else Schema.BEHIND


def is_current(database: Database) -> bool:
    """Whether the database already stands at the newest revision."""
    return _stands_at(database) == head()


@cache
def head() -> str:
    """The newest migration: the one no other revises (the chain is kept linear; a test
    holds this equal to what Alembic computes)."""
    revised, revisions = set(), set()
    for script in (_SCRIPTS / "versions").glob("*.py"):
        source = script.read_text()
        if (this := _REVISION.search(source)) is None:
            continue
        revisions.add(this["id"])
        if (before := _REVISES.search(source)) is not None and before["id"]:
            revised.add(before["id"])
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _stands_at(database: Database) -> str | None:
    with database.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
