"""Shared by the fuzz tests: how many cases each one tries, and how the database is compared.

``make test`` runs a bounded, derandomized number of examples per test so that it stays quick
and repeatable; ``make fuzz`` sets ``ANDON_FUZZ_EXAMPLES`` for a long, randomized campaign and
``--hypothesis-show-statistics`` prints how many cases each test tried.
"""

import os

from hypothesis import HealthCheck, settings
from sqlalchemy import func, inspect, select, table

from storage.database import Database

EXAMPLES_ENV = "ANDON_FUZZ_EXAMPLES"


def examples(default: int) -> int:
    """``default`` cases, or the campaign's count when ``ANDON_FUZZ_EXAMPLES`` is set."""
    return int(os.environ.get(EXAMPLES_ENV) or default)


def fuzz(default: int) -> settings:
    """Bounded and derandomized in ``make test``; a random campaign under ``make fuzz``."""
    return settings(
        max_examples=examples(default),
        deadline=None,
        derandomize=not os.environ.get(EXAMPLES_ENV),
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table: a rejected request must leave each count as it was."""
    names = inspect(database.engine).get_table_names()
    with database.engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in names
        }
