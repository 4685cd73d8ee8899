"""Alembic's entry: runs migrations on the engine that ``storage.migrate`` hands over."""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes["engine"]
# Replicas started together migrate one at a time: the first takes PostgreSQL's advisory lock for
# its transaction, the others wait and then find the schema current. (On SQLite the migration's
# transaction holds the database's write lock from its BEGIN IMMEDIATE.)
MIGRATING = 0x616E646F6E  # "andon": the lock's key, the same in every process

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,
        compare_type=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATING})
        context.run_migrations()
    connection.commit()
