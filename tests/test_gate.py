"""The commit check: ``andon gate install`` hooks a real bare repository, a real ``git push`` asks a
running ``andon serve`` (or the database) whether it may land, and the pusher reads the answer in
their terminal — a stopped line refuses main unless the push says it is the fix, and the stoppage's
thread hears of every fix that passed. Then the decision table itself, in-process, on both
databases."""

import json
import os
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.githooks import unchecked as gate_unchecked
from bot.githooks.push import push_options, pusher, read
from bot.http.gate import GateBody
from bot.outbox.notifier import Outbox
from bot.render import notice
from core import line
from core.actor import Actor
from core.clock import ManualClock
from core.config.file import AndonConfig, GateCheck, GateConfig, RepoConfig
from core.gate.decide import GateAnswer, check
from core.gate.push import ZERO, Push, PushedCommit, RefUpdate
from core.gate.push import read as read_push
from storage.database import Database
from storage.tables import AuditEntry, OutboxMessage, Stoppage
from tests.fakes.slack import FakeSlack
from tests.gate_line import (
    REFUSED_MAIN,
    Developer,
    dev,
    gate_pushes,
    gate_root,
    line_server,
    said,
    serving,
    stop_line,
    told_in_thread,
)
from tests.harness import API_TOKEN, CHANNEL, AndonServer, free_port, run_cli

ANDON = Path(sys.executable).parent / "andon"  # the virtualenv running the tests
PYTHON = os.path.abspath(sys.executable)  # its interpreter, as the hook names it

__all__ = ["dev", "gate_root", "line_server", "serving"]  # the fixtures of tests/gate_line.py


# --- through the real programs: install, push, serve --------------------------------------------


def test_while_the_line_runs_a_push_to_main_passes(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving()
    revision = dev.commit("Add the cart")

    pushed = dev.push()

    assert pushed.returncode == 0, said(pushed)
    assert dev.head() == revision
    assert "andon" not in said(pushed).lower()


def test_while_stopped_a_push_to_main_is_refused_saying_why_since_when_by_whom_and_how_to_pass(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving()
    before = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stoppage = stop_line(server)
    dev.commit("Add the coupon field")

    pushed = dev.push()

    assert pushed.returncode != 0
    shown = said(pushed)
    assert "remote: Andon: the line is stopped — push to main refused." in shown
    assert f"remote:   Stopped since {stoppage_time(server)} by @maria: CI is red" in shown
    assert f"(stoppage #{stoppage['id']})" in shown
    assert 'add the trailer "Line-Fix: <why>" to a commit' in shown
    assert 'git push -o line-fix="<why>"' in shown
    assert REFUSED_MAIN in shown
    assert dev.head() == before


def stoppage_time(server: AndonServer) -> str:
    since = datetime.fromisoformat(server.api("/api/line").json()["since"])
    return since.astimezone(UTC).strftime("%H:%M UTC")


def test_a_line_fix_trailer_passes_a_stopped_line_and_the_stoppage_thread_hears_of_it(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack
) -> None:
    server = serving()
    dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stoppage = stop_line(server)
    fix = dev.commit("Round the cart total\n\nLine-Fix: restore the cart total\n")

    pushed = dev.push()

    assert pushed.returncode == 0, said(pushed)
    assert "remote: Andon: the line is stopped; this push passes as a fix" in said(pushed)
    assert dev.head() == fix
    told = told_in_thread(fake_slack, stoppage["thread_ts"], "dana pushed past the stopped line")
    shown = json.dumps(told)
    assert told["channel"] == CHANNEL
    assert "restore the cart total" in told["text"]
    assert fix[:7] in shown and "Round the cart total" in shown


def test_an_empty_line_fix_trailer_does_not_pass_a_stopped_line(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving()
    before = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stop_line(server)
    dev.commit("Round the cart total\n\nLine-Fix:\nSigned-off-by: Dana Kim <dana@example.com>\n")

    pushed = dev.push()

    assert pushed.returncode != 0
    assert "the line is stopped — push to main refused" in said(pushed)
    assert dev.head() == before


def test_the_line_fix_push_option_passes_a_stopped_line(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack
) -> None:
    server = serving()
    dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stoppage = stop_line(server)
    fix = dev.commit("Round the cart total")

    pushed = dev.push(options=("line-fix=hotfix",))

    assert pushed.returncode == 0, said(pushed)
    assert "this push passes as a fix (hotfix)" in said(pushed)
    assert dev.head() == fix
    told = told_in_thread(fake_slack, stoppage["thread_ts"], "dana pushed past the stopped line")
    assert told["text"].endswith("as a fix: hotfix")


def test_another_branch_passes_a_stopped_line_and_a_protected_glob_does_not(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving('\n[gate]\nprotected = ["refs/heads/main", "refs/heads/release/*"]\n')
    dev.commit("Add the cart")
    assert dev.push("HEAD:main", "HEAD:release/1.0").returncode == 0
    stop_line(server)
    feature = dev.commit("Try a coupon field")

    to_feature = dev.push("HEAD:feature/coupons")
    to_release = dev.push("HEAD:release/1.1")

    assert to_feature.returncode == 0, said(to_feature)
    assert dev.head("feature/coupons") == feature
    assert to_release.returncode != 0
    assert "push to release/1.1 refused" in said(to_release)


def test_after_the_line_starts_again_a_push_to_main_passes(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving()
    dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stop_line(server)
    revision = dev.commit("Add the coupon field")
    assert dev.push().returncode != 0
    started = server.cli("line", "start", "--force", "the fix is in", "--as", "maria")
    assert started.returncode == 0, started.stderr

    pushed = dev.push()

    assert pushed.returncode == 0, said(pushed)
    assert dev.head() == revision


def test_when_andon_cannot_be_reached_the_push_is_refused_saying_so(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving()
    closed = f"http://127.0.0.1:{free_port()}"
    dev.commit("Add the cart")

    pushed = dev.push(ANDON_URL=closed)

    assert pushed.returncode != 0
    shown = said(pushed)
    assert f"remote: andon: Andon could not be reached at {closed}: connection refused." in shown
    assert "remote: andon: the push is refused: the commit check fails closed" in shown
    assert REFUSED_MAIN in shown
    assert dev.head() is None


def test_when_andon_does_not_answer_the_hook_gives_up_and_refuses(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving()
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        dev.commit("Add the cart")

        pushed = dev.push(ANDON_URL=url)

    assert pushed.returncode != 0
    assert f"Andon could not be reached at {url}: no answer within 5 s." in said(pushed)
    assert dev.head() is None


def test_with_fail_open_an_unreachable_andon_lets_the_push_through_with_a_warning(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving("\n[gate]\nfail_open = true\n")
    closed = f"http://127.0.0.1:{free_port()}"
    revision = dev.commit("Add the cart")

    pushed = dev.push(ANDON_URL=closed)

    assert pushed.returncode == 0, said(pushed)
    shown = said(pushed)
    assert f"Andon could not be reached at {closed}: connection refused." in shown
    assert "remote: andon: warning: [gate] fail_open = true, so this push is let through" in shown
    assert dev.head() == revision


def test_a_pre_receive_hook_already_there_still_runs_first_and_can_still_refuse(
    dev: Developer, serving: Callable[..., AndonServer], tmp_path: Path
) -> None:
    saw = tmp_path / "policy-saw.txt"
    hook = dev.bare / "hooks" / "pre-receive"
    hook.write_text(
        f'#!/bin/sh\ninput=$(cat)\nprintf "%s\\n" "$input" >> "{saw}"\n'
        'case "$input" in *" refs/heads/frozen") echo "policy: frozen"; exit 1;; esac\n'
    )
    hook.chmod(0o755)
    server = serving()
    again = run_cli(
        ["gate", "install", str(dev.bare)],
        env={**server.env, "ANDON_URL": server.url},
        cwd=server.workdir,
    )
    revision = dev.commit("Add the cart")

    passed = dev.push()
    refused = dev.push("main:frozen")

    assert again.returncode == 0, again.stderr
    assert "kept as" not in again.stdout  # the second install replaced only its own hook
    assert "policy: frozen" in (dev.bare / "hooks" / "pre-receive.chained").read_text()
    assert passed.returncode == 0, said(passed)
    assert saw.read_text().startswith(f"{ZERO} {revision} refs/heads/main\n")
    assert refused.returncode != 0
    assert "remote: policy: frozen" in said(refused)
    assert "! [remote rejected] main -> frozen (pre-receive hook declined)" in said(refused)


def test_the_installed_hook_is_executable_and_records_andon_and_its_settings(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving()

    hook = dev.bare / "hooks" / "pre-receive"
    assert hook.stat().st_mode & 0o777 == 0o755
    assert os.access(hook, os.X_OK)
    text = hook.read_text()
    assert f"{PYTHON} -S -P -c " in text and "from bot.githooks.pre_receive import main" in text
    assert server.url in text and API_TOKEN in text
    assert server.env["ANDON_DATABASE_URL"] in text and server.env["ANDON_CONFIG"] in text
    advertised = dev.git("config", "receive.advertisePushOptions", cwd=dev.bare)
    assert advertised.strip() == "true"


# What `andon gate install` wrote below the settings before the hook ran Andon's Python itself.
EARLIER_BODY = """input=$(cat)
chained="$(dirname "$0")/pre-receive.chained"
if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || exit $?
fi
printf '%s\\n' "$input" | {andon} gate pre-receive
"""


def test_a_hook_written_by_an_earlier_version_still_asks_andon(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    """Hooks installed before ran ``andon gate pre-receive`` (the console script); they are not
    rewritten on upgrade, so that command must keep answering as the hook does."""
    server = serving()
    hook = dev.bare / "hooks" / "pre-receive"
    settings = hook.read_text().partition('case "$0"')[0]
    hook.write_text(settings + EARLIER_BODY.format(andon=ANDON))
    audited_before = gate_pushes(server)
    passed = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stop_line(server)
    dev.commit("Add the coupon field")

    refused = dev.push()

    assert f"| {ANDON} gate pre-receive\n" in hook.read_text()
    assert refused.returncode != 0
    assert "remote: Andon: the line is stopped — push to main refused." in said(refused)
    assert dev.head() == passed
    assert len(gate_pushes(server) - audited_before) == 2  # both pushes asked Andon


def test_a_commit_that_breaks_a_configured_rule_is_refused_naming_commit_and_rule(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving('\n[[gate.checks]]\nname = "subject"\nsubject_regex = "^(feat|fix|docs): "\n')
    good = dev.commit("feat: add the cart")
    assert dev.push().returncode == 0
    bad = dev.commit("Update things")

    pushed = dev.push()

    assert pushed.returncode != 0
    shown = said(pushed)
    assert "remote: Andon refused the push:" in shown
    assert f"commit {bad[:7]} (\"Update things\") breaks rule 'subject'" in shown
    assert REFUSED_MAIN in shown
    assert dev.head() == good


def test_without_andon_url_the_hook_decides_from_the_database_and_serve_tells_the_thread(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack
) -> None:
    server = serving(over_http=False)
    assert "ANDON_URL" not in (dev.bare / "hooks" / "pre-receive").read_text()
    before = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stoppage = stop_line(server)
    dev.commit("Add the coupon field")

    refused = dev.push()
    fix = dev.commit("Round the cart total\n\nline-fix: restore the cart total\n")
    passed = dev.push()

    assert refused.returncode != 0
    assert "remote: Andon: the line is stopped — push to main refused." in said(refused)
    assert passed.returncode == 0, said(passed)
    assert dev.head() == fix != before
    told = told_in_thread(fake_slack, stoppage["thread_ts"], "dana pushed past the stopped line")
    assert fix[:7] in json.dumps(told)


# --- what the hook reads from git and its environment ------------------------------------------


def test_the_hook_reads_only_the_new_commits_with_their_trailers_and_paths(
    dev: Developer,
) -> None:
    base = dev.commit("Add the cart", {"app/cart.py": "cart", "old name.txt": "x"})
    dev.git("checkout", "-q", "-b", "topic")
    topic = dev.commit("Add a test", {"tests/test_cart.py": "test"})
    dev.git("checkout", "-q", "main")
    dev.git("mv", "old name.txt", "new name.txt")
    renamed = dev.commit(
        "Rename the notes\n\nLine-Fix: restore the cart total\nreviewed-by: Maria\n"
        "Reviewed-by: Ola\n",
        {},
    )
    dev.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
    merge = dev.git("rev-parse", "HEAD").strip()
    dev.git("update-ref", "refs/heads/main", base)  # only the base is known to the repository
    dev.git("update-ref", "-d", "refs/heads/topic")
    environ = {**dev.env, "GIT_DIR": str(dev.clone / ".git"), "USER": "dana"}

    created = read([f"{ZERO} {merge} refs/heads/main\n"], environ)
    updated = read(
        [f"{base} {renamed} refs/heads/main\n", f"{base} {ZERO} refs/heads/x\n"], environ
    )

    assert created is not None and updated is not None
    commits = {c["sha"]: c for c in created["commits"]}
    assert set(commits) == {merge, renamed, topic}
    assert commits[merge]["paths"] == ["tests/test_cart.py"]  # what the merge brings to main
    assert sorted(commits[renamed]["paths"]) == ["new name.txt", "old name.txt"]
    assert commits[renamed]["trailers"] == {
        "Line-Fix": ["restore the cart total"],
        "reviewed-by": ["Maria"],
        "Reviewed-by": ["Ola"],
    }
    assert commits[renamed]["author"] == "Dana Kim <dana@example.com>"
    assert commits[renamed]["refs"] == ["refs/heads/main"]  # the ref it lands on
    assert [c["sha"] for c in updated["commits"]] == [renamed]
    assert updated["refs"][1] == {"old": base, "new": ZERO, "ref": "refs/heads/x"}
    assert updated["pusher"] == "dana"


def test_both_doors_read_the_same_push_each_commit_with_the_refs_it_lands_on(
    dev: Developer,
) -> None:
    """``POST /api/gate`` and the hook's database path read one body into one ``Push``: what
    the hook sends over HTTP (as JSON, through the door's schema) equals what it reads itself."""
    base = dev.commit("Add the cart")
    dev.git("checkout", "-q", "-b", "feature")
    fix = dev.commit("Fix the flaky test\n\nLine-Fix: green again\n", {"tests/t.py": "ok"})
    dev.git("checkout", "-q", "main")
    tip = dev.commit("Add the coupon field\n\nReviewed-by: Ola\n")
    environ = {
        **dev.env,
        "GIT_DIR": str(dev.clone / ".git"),
        "USER": "dana",
        "GIT_PUSH_OPTION_COUNT": "1",
        "GIT_PUSH_OPTION_0": "ci.skip",
    }
    body = read([f"{base} {tip} refs/heads/main\n", f"{base} {fix} refs/heads/feature\n"], environ)
    assert body is not None
    gate_unchecked.record(environ, body, reason="Andon could not be reached")
    body["unchecked"] = gate_unchecked.pending(environ)

    over_http = GateBody.model_validate_json(json.dumps(body)).push()
    from_database = read_push(body)

    assert over_http == from_database
    assert {c.sha: c.refs for c in from_database.commits} == {
        tip: ("refs/heads/main",),
        fix: ("refs/heads/feature",),
    }
    assert (from_database.push_options, from_database.pusher) == (("ci.skip",), "dana")
    assert [u.refs for u in from_database.unchecked] == [from_database.refs]


def test_the_pusher_is_the_forge_user_then_user_then_logname() -> None:
    assert pusher({"GL_USERNAME": "dana", "USER": "git", "LOGNAME": "git"}) == "dana"
    assert pusher({"USER": "dana", "LOGNAME": "root"}) == "dana"
    assert pusher({"USER": " ", "LOGNAME": "dana"}) == "dana"
    assert pusher({}) == "unknown"


def test_push_options_are_read_as_git_hands_them_to_the_hook() -> None:
    environ = {
        "GIT_PUSH_OPTION_COUNT": "2",
        "GIT_PUSH_OPTION_0": 'line-fix="hotfix"',
        "GIT_PUSH_OPTION_1": "ci.skip",
    }
    assert push_options(environ) == ['line-fix="hotfix"', "ci.skip"]
    assert push_options({}) == []
    assert push_options({"GIT_PUSH_OPTION_COUNT": "x"}) == []


# --- the decision, in-process, on SQLite and PostgreSQL ------------------------------------------

T0 = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
MARIA = Actor("U0MARIA", "maria", "slack")
OLD, NEW = "a" * 40, "b" * 40
MAIN = "refs/heads/main"


@pytest.fixture
def stopped(database: Database) -> Database:
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=ManualClock(T0), render=notice)
        line.stop(session, notifier=outbox, clock=ManualClock(T0), actor=MARIA, reason="CI is red")
    return database


def commit(
    subject: str = "Round the cart total",
    *,
    trailers: dict[str, list[str]] | None = None,
    paths: tuple[str, ...] = ("app/cart.py",),
    sha: str = "c" * 40,
) -> PushedCommit:
    return PushedCommit(sha, subject, "Dana Kim <dana@example.com>", trailers or {}, paths)


def push(
    *commits: PushedCommit, ref: str = MAIN, new: str = NEW, options: tuple[str, ...] = ()
) -> Push:
    return Push((RefUpdate(OLD, new, ref),), commits, options, "dana")


def ask(database: Database, the_push: Push, config: AndonConfig | None = None) -> GateAnswer:
    clock = ManualClock(T0.replace(minute=30))
    with database.writing() as session:
        outbox = Outbox(session, channel=CHANNEL, clock=clock, render=notice)
        return check(
            session, notifier=outbox, clock=clock, config=config or AndonConfig(), push=the_push
        )


def test_a_stopped_line_refuses_the_line_branch_and_says_why_since_when_by_whom(
    stopped: Database,
) -> None:
    answer = ask(stopped, push(commit()))

    assert not answer.allow
    assert answer.message.splitlines()[:2] == [
        "Andon: the line is stopped — push to main refused.",
        "  Stopped since 14:02 UTC by @maria: CI is red (stoppage #1).",
    ]
    with stopped.reading() as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "gate.push")).one()
    assert (entry.actor_name, entry.via, entry.outcome) == ("dana", "git", "refused")


def test_protected_globs_guard_every_matching_ref_and_only_those(stopped: Database) -> None:
    config = AndonConfig(gate=GateConfig(protected=["refs/heads/main", "refs/heads/release/*"]))

    assert not ask(stopped, push(commit(), ref="refs/heads/release/1.2"), config).allow
    assert ask(stopped, push(commit(), ref="refs/heads/feature/x"), config).allow
    assert ask(stopped, push(commit(), ref="refs/tags/v1.0"), config).allow


def test_without_protected_refs_the_configured_line_branch_is_guarded(stopped: Database) -> None:
    config = AndonConfig(repo=RepoConfig(path="/srv/git/app.git", branch="trunk"))

    assert not ask(stopped, push(commit(), ref="refs/heads/trunk"), config).allow
    assert ask(stopped, push(commit(), ref=MAIN), config).allow


def test_deleting_a_protected_branch_needs_the_push_option_and_is_told_in_the_channel(
    stopped: Database,
) -> None:
    refused = ask(stopped, push(new=ZERO, options=()))
    trailer = ask(stopped, push(commit(trailers={"Line-Fix": ["green"]}), new=ZERO))
    passed = ask(stopped, push(new=ZERO, options=("line-fix=rebuilt from the release",)))

    assert not refused.allow and "deletion of main refused" in refused.message
    assert not trailer.allow
    assert passed.allow
    with stopped.reading() as session:
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post")).all()
    told = [p.payload["text"] for p in posts if "takes commits off" in p.payload["text"]]
    assert told == ["dana's push takes commits off main"]


def test_a_rewind_is_told_while_the_line_runs_and_an_unguarded_one_is_not(
    database: Database,
) -> None:
    rewind = Push((RefUpdate(OLD, NEW, MAIN, forced=True),), (), (), "dana")
    elsewhere = Push((RefUpdate(OLD, NEW, "refs/heads/feature/x", forced=True),), (), (), "dana")

    answer = ask(database, rewind)
    quiet = ask(database, elsewhere)

    assert answer == GateAnswer(
        True, "Andon: the line channel has been told of the forced push to main."
    )
    assert quiet == GateAnswer(True, "")
    with database.reading() as session:
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post")).all()
    assert [p.payload["text"] for p in posts] == ["dana's push takes commits off main"]


@pytest.mark.parametrize("key", ["Line-Fix", "line-fix", "LINE-FIX"])
def test_the_override_trailer_is_matched_without_case(stopped: Database, key: str) -> None:
    answer = ask(stopped, push(commit(trailers={key: ["restore the cart total"]})))

    assert answer.allow
    assert "passes as a fix (restore the cart total)" in answer.message


def test_an_empty_override_trailer_does_not_count(stopped: Database) -> None:
    assert not ask(stopped, push(commit(trailers={"Line-Fix": ["", "  "]}))).allow


def test_a_passing_fix_is_queued_as_a_reply_in_the_stoppage_thread(stopped: Database) -> None:
    fix = commit(trailers={"Line-Fix": ["restore the cart total"]})

    assert ask(stopped, push(fix)).allow

    with stopped.reading() as session:
        stoppage = session.exec(select(Stoppage)).one()
        replies = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "reply")
            .order_by(col(OutboxMessage.id))
        ).all()
    told = replies[-1]
    assert told.parent_id == stoppage.announcement_id
    assert (
        told.payload["text"] == "dana pushed past the stopped line as a fix: restore the cart total"
    )
    assert "ccccccc" in json.dumps(told.payload)


@pytest.mark.parametrize(
    ("options", "passes"),
    [
        (("line-fix=hotfix",), True),
        (('line-fix="hotfix"',), True),
        (("LINE-FIX=hotfix",), True),
        (("line-fix= spaced out ",), True),
        (("line-fix=",), False),
        (('line-fix=""',), False),
        (("line-fix",), False),
        (("linefix=hotfix",), False),
    ],
)
def test_the_override_push_option_is_parsed(
    stopped: Database, options: tuple[str, ...], passes: bool
) -> None:
    assert ask(stopped, push(commit(), options=options)).allow is passes


def test_a_fix_must_touch_a_test_when_the_rule_says_so(database: Database) -> None:
    rule = GateCheck(name="fix-needs-test", fix_needs_test_paths=["tests/"])
    config = AndonConfig(gate=GateConfig(checks=[rule]))
    untested = commit(trailers={"Fixes": ["#12"]}, paths=("app/cart.py",))
    tested = commit(trailers={"Fixes": ["#12"]}, paths=("app/cart.py", "tests/test_cart.py"))
    plain = commit(paths=("app/cart.py",))

    refused = ask(database, push(untested), config)

    assert not refused.allow
    assert "breaks rule 'fix-needs-test': it says it fixes a bug" in refused.message
    assert ask(database, push(tested), config).allow
    assert ask(database, push(plain), config).allow


def test_forbidden_paths_are_refused_by_path_or_file_name(database: Database) -> None:
    rule = GateCheck(name="no-secrets", forbidden_paths=["*.pem", "secrets/*"])
    config = AndonConfig(gate=GateConfig(checks=[rule]))

    key = ask(database, push(commit(paths=("deploy/server.pem",))), config)
    vault = ask(database, push(commit(paths=("secrets/prod.env",))), config)

    assert not key.allow and "it touches deploy/server.pem, and '*.pem' is forbidden" in key.message
    assert not vault.allow and "breaks rule 'no-secrets'" in vault.message
    assert ask(database, push(commit(paths=("docs/pem.md",))), config).allow


def test_rules_guard_protected_refs_only_and_even_while_the_line_runs(database: Database) -> None:
    rule = GateCheck(name="subject", subject_regex="^(feat|fix|docs): ")
    config = AndonConfig(gate=GateConfig(checks=[rule]))
    sloppy = commit("Update things")

    refused = ask(database, push(sloppy), config)

    assert not refused.allow
    assert refused.message == (
        "Andon refused the push:\n"
        "  commit ccccccc (\"Update things\") breaks rule 'subject': "
        "its subject must match '^(feat|fix|docs): '"
    )
    assert ask(database, push(sloppy, ref="refs/heads/feature/x"), config).allow


def test_a_fix_for_another_branch_does_not_pass_the_line_branch(stopped: Database) -> None:
    fix = PushedCommit(
        "d" * 40,
        "Fix flaky test",
        "dana",
        {"Line-Fix": ["green again"]},
        ("tests/t.py",),
        refs=("refs/heads/feature/x",),
    )
    plain = PushedCommit("e" * 40, "Tweak copy", "dana", {}, ("app/copy.py",), refs=(MAIN,))
    both = Push(
        (RefUpdate(OLD, NEW, MAIN), RefUpdate(OLD, "f" * 40, "refs/heads/feature/x")),
        (fix, plain),
        (),
        "dana",
    )
    assert not ask(stopped, both).allow


def test_rules_look_only_at_commits_that_land_on_protected_refs(database: Database) -> None:
    config = AndonConfig(
        gate=GateConfig(checks=[GateCheck(name="subject", subject_regex="^(feat|fix): ")])
    )
    sloppy = PushedCommit("d" * 40, "wip", "dana", {}, (), refs=("refs/heads/feature/x",))
    tidy = PushedCommit("e" * 40, "feat: cart", "dana", {}, (), refs=(MAIN,))
    both = Push(
        (RefUpdate(OLD, NEW, MAIN), RefUpdate(OLD, "f" * 40, "refs/heads/feature/x")),
        (sloppy, tidy),
        (),
        "dana",
    )
    assert ask(database, both, config).allow


def test_an_andon_url_that_is_not_http_is_refused_without_repeating_it() -> None:
    """The hook names the scheme it cannot use, never the URL: it may hold a password."""
    from bot.githooks import gate_ask

    with pytest.raises(gate_ask.UnansweredError) as refused:
        gate_ask.server("ftp://deploy:s3cret@andon.example", {}, {"refs": []})

    assert "must start with http:// or https://, not ftp:" in str(refused.value)
    assert "s3cret" not in str(refused.value)
