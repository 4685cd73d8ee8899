"""The deploy gate: one question every deploy path asks — on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from core import line
from core.actor import Actor
from core.ci.report import BuildReport, BuildStatus
from core.ci.results import record
from core.clock import ManualClock
from core.config.file import AndonConfig, CiConfig
from core.deploy.deployable import may_deploy
from storage.database import Database
from tests.notifier import RecordingNotifier

REV = "3f2a9c1" + "0" * 33
T0 = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
MARIA = Actor("U0MARIA", "maria", "slack")


def report(pipeline: str, status: BuildStatus, branch: str = "feature/x") -> BuildReport:
    return BuildReport(
        provider="generic",
        revision=REV,
        branch=branch,
        status=status,
        pipeline=pipeline,
        run_id=f"{pipeline}-{status}",
    )


def tell(database: Database, config: AndonConfig, *reports: BuildReport) -> None:
    clock = ManualClock(T0)
    for item in reports:
        with database.writing() as session:
            told = RecordingNotifier().on(session)
            record(session, notifier=told, clock=clock, config=config, report=item, author=None)


def ask(database: Database, config: AndonConfig) -> str | None:
    with database.reading() as session:
        refusal = may_deploy(session, config=config, clock=ManualClock(T0), revision=REV)
    return refusal.reason if refusal else None


def test_a_revision_without_results_may_not_deploy(database: Database) -> None:
    assert ask(database, AndonConfig()) == (
        "3f2a9c1 has no CI result yet — it can ship once CI passes; `/ci 3f2a9c1` shows where "
        "it stands."
    )


def test_a_running_pipeline_is_named_in_the_refusal(database: Database) -> None:
    config = AndonConfig()
    tell(database, config, report("tests", BuildStatus.RUNNING))
    assert ask(database, config) == (
        "3f2a9c1 has no passing CI result yet (tests: running) — it can ship once CI passes; "
        "`/ci 3f2a9c1` shows where it stands."
    )


def test_a_passed_revision_may_deploy(database: Database) -> None:
    config = AndonConfig()
    tell(
        database, config, report("tests", BuildStatus.RUNNING), report("tests", BuildStatus.PASSED)
    )
    assert ask(database, config) is None


def test_every_required_pipeline_must_pass(database: Database) -> None:
    config = AndonConfig(ci=CiConfig(required=["tests", "lint"]))
    tell(database, config, report("tests", BuildStatus.PASSED), report("docs", BuildStatus.FAILED))
    assert ask(database, config) == (
        "3f2a9c1 has no passing CI result yet (tests: passed, lint: no result) — it can ship "
        "once CI passes; `/ci 3f2a9c1` shows where it stands."
    )
    tell(database, config, report("lint", BuildStatus.PASSED))
    assert ask(database, config) is None


def test_any_failed_pipeline_counts_when_none_is_required(database: Database) -> None:
    config = AndonConfig()
    tell(database, config, report("tests", BuildStatus.PASSED), report("lint", BuildStatus.FAILED))
    assert ask(database, config) == (
        "3f2a9c1 failed CI (lint: failed, tests: passed) — it can ship once CI passes; "
        "`/ci 3f2a9c1` shows where it stands."
    )


def test_a_stopped_line_refuses_even_a_green_revision(database: Database) -> None:
    config = AndonConfig()
    tell(database, config, report("tests", BuildStatus.PASSED))
    clock = ManualClock(T0)
    with database.writing() as session:
        told = RecordingNotifier().on(session)
        line.stop(session, notifier=told, clock=clock, actor=MARIA, reason="CI failed on 3f2a9c1")
    assert ask(database, config) == (
        "The line is stopped since 14:02 UTC by @maria: CI failed on 3f2a9c1 — deploys wait for "
        "`/line start`; if this deploy is the fix: `/deploy 3f2a9c1 fix: <why>`."
    )
