"""Replicas started together on one PostgreSQL migrate it once: the first takes the migration
lock, the others wait and find the schema current — nobody fails on a table another created."""

import threading
from pathlib import Path

from sqlalchemy import text

from storage.database import Database
from storage.migrate import head
from tests.harness import API_TOKEN, AndonServer
from tests.postgres import PostgresCluster


def test_three_servers_started_at_once_on_a_new_database_all_serve(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("replicas_together")
    servers = [
        AndonServer(tmp_path / f"replica{n}", database_url=url, slack=None) for n in range(3)
    ]
    failed: list[BaseException] = []

    def start(server: AndonServer) -> None:
        try:
            server.start()
        except BaseException as error:
            failed.append(error)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failed == [], failed
        for server in servers:
            assert server.api("/api/line", token=API_TOKEN).json()["state"] == "running"
            assert "Traceback" not in server.log(), server.log()[-3000:]
    finally:
        for server in servers:
            server.stop()
    database = Database(url)
    try:
        with database.reading() as session:
            versions = session.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == [head()]
    finally:
        database.dispose()
