"""The operator CLI: ``andon line``, ``audit``, ``db upgrade`` and ``config check``, run as a
person runs them in their shell; they obey the Slack commands' rules and tell the channel."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack import FakeSlack
from tests.harness import CHANNEL, andon_env, run_cli, upgraded

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "andon.example.toml"


class Operator:
    """A person at a shell in ``workdir`` with Andon's variables set (and ``$USER``)."""

    def __init__(
        self,
        workdir: Path,
        *,
        slack: FakeSlack | None = None,
        user: str = "ops",
        create: bool = True,
    ) -> None:
        self.workdir = workdir
        self.database = workdir / "andon.db"
        self.env = andon_env(workdir, database_url=f"sqlite:///{self.database}", slack=slack)
        self.env["USER"] = user
        if slack is not None:
            (workdir / "andon.toml").write_text(f'[slack]\nchannel = "{CHANNEL}"\n')
        if create:
            upgraded(f"sqlite:///{self.database}")  # where `andon serve` has run before

    def andon(self, *args: str) -> Any:
        return run_cli(list(args), env=self.env, cwd=self.workdir)


@pytest.fixture
def ops(tmp_path: Path) -> Operator:
    return Operator(tmp_path)


# --- where the line is --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("line", "status"), ("line", "stop", "disk full"), ("audit",), ("whys", "status")]
)
def test_a_command_run_where_there_is_no_database_says_where_it_looked(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    elsewhere = Operator(tmp_path, create=False)

    done = elsewhere.andon(*command)

    assert done.returncode == 2
    assert f"no Andon database at sqlite:///{tmp_path / 'andon.db'}" in done.stderr
    assert "run this where `andon serve` runs, or set ANDON_DATABASE_URL / ANDON_CONFIG" in (
        done.stderr
    )
    assert not (tmp_path / "andon.db").exists()


def test_line_status_names_the_database_and_config_it_read(ops: Operator) -> None:
    done = ops.andon("line", "status")

    assert done.returncode == 0, done.stderr
    assert f"(read from sqlite:///{ops.database} with {ops.workdir / 'andon.toml'})" in done.stdout


# --- andon line --------------------------------------------------------------------------------


def test_line_stop_with_a_reason_stops_the_line(ops: Operator) -> None:
    done = ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")

    assert done.returncode == 0, done.stderr
    assert "You stopped the line" in done.stdout


def test_line_status_of_a_stopped_line_says_stopped_and_why(ops: Operator) -> None:
    ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")

    done = ops.andon("line", "status")

    assert done.returncode == 0, done.stderr
    assert "The line has been stopped since" in done.stdout
    assert "by ops" in done.stdout
    assert "disk is full" in done.stdout


def test_line_start_waits_for_the_five_whys_then_runs_the_line_again(ops: Operator) -> None:
    ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")
    refused = ops.andon("line", "start", "--as", "ops")
    assert refused.returncode == 1 and "five whys of stoppage #1 is not done" in refused.stdout
    scheduled = ops.andon("whys", "schedule", "tomorrow", "10:00", "--as", "ops")
    assert scheduled.returncode == 0, scheduled.stderr

    done = ops.andon("line", "start", "--as", "ops")

    assert done.returncode == 0, done.stderr
    assert "You started the line after" in done.stdout
    assert "stopped." in done.stdout
    assert "The line has been running since" in ops.andon("line", "status").stdout


def test_a_second_start_is_refused_with_a_sentence(ops: Operator) -> None:
    ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")
    ops.andon("whys", "schedule", "in", "1h", "--as", "ops")
    ops.andon("line", "start", "--as", "ops")

    done = ops.andon("line", "start", "--as", "ops")

    assert done.returncode == 1
    assert "The line is already running" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_without_slack_the_cli_shows_the_announcement_and_leaves_it_to_the_server(
    ops: Operator,
) -> None:
    done = ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")

    assert "#1 🛑 Line stopped by ops" in done.stdout
    assert "the terminal of `andon serve` shows them in order" in done.stderr


def test_line_stop_without_a_reason_is_a_usage_error(ops: Operator) -> None:
    done = ops.andon("line", "stop")

    assert done.returncode == 2
    assert "usage: andon line stop" in done.stderr
    assert "reason" in done.stderr
    assert "The line has been running since" in ops.andon("line", "status").stdout


# --- who did it, and the audit -----------------------------------------------------------------


def test_the_actor_defaults_to_user_and_the_audit_shows_it_came_via_the_cli(
    tmp_path: Path,
) -> None:
    carol = Operator(tmp_path, user="carol")
    carol.andon("line", "stop", "memory", "leak")
    carol.andon("whys", "schedule", "in", "1h")
    carol.andon("line", "start")

    done = carol.andon("audit")

    assert done.returncode == 0, done.stderr
    newest, scheduled, older = done.stdout.splitlines()[:3]
    assert "carol via cli: line.start" in newest and "→ ok" in newest
    assert "carol via cli: whys.schedule 'in 1h'" in scheduled and "→ ok" in scheduled
    assert "carol via cli: line.stop 'memory leak'" in older and "→ ok" in older


def test_the_audit_lists_refusals_with_their_outcome(ops: Operator) -> None:
    ops.andon("line", "start", "--as", "ops")

    newest = ops.andon("audit").stdout.splitlines()[0]

    assert "ops via cli: line.start" in newest
    assert "→ refused" in newest and "already running" in newest


def test_audit_json_prints_one_object_per_line_newest_first(ops: Operator) -> None:
    ops.andon("line", "stop", "--as", "ops", "disk", "is", "full")
    ops.andon("line", "start", "--as", "bob")

    done = ops.andon("audit", "--json")

    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["actor_name"], e["via"], e["action"], e["outcome"]) for e in entries] == [
        ("bob", "cli", "line.start", "refused"),  # the five whys is neither done nor scheduled
        ("ops", "cli", "line.stop", "ok"),
    ]
    assert entries[1]["detail"] == "disk is full"
    assert entries[0]["id"] > entries[1]["id"]


# --- andon db upgrade ----------------------------------------------------------------------------


def test_db_upgrade_brings_a_fresh_database_to_the_newest_schema(ops: Operator) -> None:
    done = ops.andon("db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert "The database is at the newest schema." in done.stdout
    assert ops.database.exists()


def test_db_upgrade_twice_in_a_row_is_fine(ops: Operator) -> None:
    ops.andon("db", "upgrade")

    done = ops.andon("db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert "The database is at the newest schema." in done.stdout


def test_the_newest_schema_is_the_head_alembic_knows() -> None:
    """The commands read the newest migration without Alembic; they must agree with it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage import migrate

    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))

    assert migrate.head() == ScriptDirectory.from_config(config).get_current_head()


# --- andon config check ------------------------------------------------------------------------


def test_config_check_without_a_file_says_there_is_none(ops: Operator) -> None:
    done = ops.andon("config", "check")

    assert done.returncode == 0, done.stderr
    assert "no file" in done.stdout


def test_config_check_names_every_problem_with_its_key(ops: Operator) -> None:
    (ops.workdir / "andon.toml").write_text(
        '[ci]\nbudgett = "30m"\n[digest]\ntimezone = "Mars/Base"\n'
    )

    done = ops.andon("config", "check")

    assert done.returncode == 1
    problems = done.stdout.splitlines()
    assert any("ci.budgett" in line for line in problems), done.stdout
    assert any("digest.timezone" in line and "Mars/Base" in line for line in problems)
    assert "no problems" not in done.stdout


def test_config_check_finds_no_problem_in_the_shipped_example(ops: Operator) -> None:
    shutil.copy(EXAMPLE_CONFIG, ops.workdir / "andon.toml")

    done = ops.andon("config", "check")

    assert done.returncode == 0, done.stdout
    assert "no problems" in done.stdout


# --- with Slack ----------------------------------------------------------------------------------


def test_with_slack_a_stop_from_the_cli_is_announced_in_the_line_channel(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    ops = Operator(tmp_path, slack=fake_slack)

    done = ops.andon("line", "stop", "--as", "ops", "the cli stopped it, disk full")

    assert done.returncode == 0, done.stderr
    assert "You stopped the line" in done.stdout
    fake_slack.wait_for(
        "chat.postMessage",
        lambda p: (
            p.get("channel") == CHANNEL
            and "the cli stopped it, disk full" in p.get("text", "")
            and p.get("thread_ts") is None
        ),
    )


def test_with_slack_down_the_cli_still_stops_the_line_and_queues_the_announcement(
    tmp_path: Path,
) -> None:
    with FakeSlack() as slack:
        slack.fail(500, count=1000, methods={"chat.postMessage"})
        ops = Operator(tmp_path, slack=slack)

        done = ops.andon("line", "stop", "--as", "ops", "Slack is down too")

        assert done.returncode == 0, done.stderr
        assert "You stopped the line" in done.stdout
        assert "queued" in done.stderr and "`andon serve` delivers" in done.stderr
        assert slack.calls("chat.postMessage"), "the CLI never tried to announce"
        status = ops.andon("line", "status")
        assert "The line has been stopped since" in status.stdout
        assert "Slack is down too" in status.stdout
