"""The line's database as a command finds it: the one ``andon serve`` migrated, never a new empty
one. Its own module, apart from the composition root (``bot.main``), so that commands which only
read the database (``audit``, ``whys export``, the CI hook's queue) and the CLI's error handling
start without importing the engine; SQLAlchemy loads only when a database is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings.environment import Settings
    from storage.database import Database


class NoDatabaseError(Exception):
    """A command other than ``serve``, ``shell`` or ``demo`` found no database of the line: it
    says where it looked instead of creating an empty one and reporting on that."""


def existing_database(settings: Settings) -> Database:
    """The line's database for a command that reads or acts on it, never a new empty one."""
    from storage.database import Database

    database = Database(settings.andon_database_url)
    found(database, settings)
    return database


def found(database: Database, settings: Settings) -> None:
    """Nothing when the schema is current; else ``NoDatabaseError`` saying what to do, with the
    database disposed of."""
    from storage import migrate

    state = migrate.schema(database)
    if state == migrate.Schema.CURRENT:
        return
    where = database.shown()
    if state == migrate.Schema.BEHIND:
        message = f"the Andon database at {where} is from an older Andon — run `andon db upgrade`"
    else:
        message = (
            f"no Andon database at {where} — run this where `andon serve` runs, or set "
            f"ANDON_DATABASE_URL / ANDON_CONFIG (the config read: {settings.andon_config})"
        )
    database.dispose()
    raise NoDatabaseError(message)
