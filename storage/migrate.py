"""Schema migrations: Alembic driven from code, so `andon db upgrade` needs no alembic.ini."""

from enum import StrEnum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import Database

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database, *, to: str = "head") -> None:
    """Bring the schema to the newest revision (or ``to``, for a test of one migration); safe to
    run on every start."""
    command.upgrade(_config(database), to)


def revision(database: Database, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    command.revision(_config(database), message=message, autogenerate=True)


class Schema(StrEnum):
    MISSING = "missing"  # no database, or one Andon never set up
    BEHIND = "behind"  # an older Andon's: `andon db upgrade` brings it up
    CURRENT = "current"


def schema(database: Database) -> Schema:
    """Where the database stands — asked without creating it."""
    if not database.on_disk():
        return Schema.MISSING
    head = ScriptDirectory.from_config(_config(database)).get_current_head()
    with database.engine.connect() as connection:
        found = MigrationContext.configure(connection).get_current_revision()
    if found is None:
        return Schema.MISSING
    return Schema.CURRENT if found == head else Schema.BEHIND


def is_current(database: Database) -> bool:
    """Whether the database already stands at the newest revision."""
    head = ScriptDirectory.from_config(_config(database)).get_current_head()
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
