"""The commit check against pushes made to fool it: commit text shaped like the hook's own record
format, trailers that smuggle separators, messages in legacy encodings or with NUL bytes git will
store — none can split the reader or slip past the check, and only an Andon that cannot be
reached lets ``[gate] fail_open`` pass a push, which is then recorded in the repository and told
in the channel by the next push that reaches Andon."""

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.githooks.push import read
from bot.outbox.notifier import Outbox
from bot.render import notice
from core.clock import ManualClock
from core.config.file import AndonConfig
from core.gate.decide import check
from core.gate.push import ZERO, Push, RefUpdate, UncheckedPush
from storage.database import Database
from storage.tables import AuditEntry, OutboxMessage
from tests.fakes.slack import FakeSlack
from tests.gate_line import (
    REFUSED_MAIN,
    Developer,
    dev,
    gate_root,
    line_server,
    said,
    serving,
    stop_line,
)
from tests.harness import CHANNEL, AndonServer, andon_env, free_port, run_cli

__all__ = ["dev", "gate_root", "line_server", "serving"]  # the fixtures of tests/gate_line.py

UNCHECKED = "andon-unchecked.log"


def crafted(
    dev: Developer, message: bytes, *, author: bytes = b"Dana Kim <dana@example.com>"
) -> str:
    """A commit object written byte for byte (as a pusher with plain git can), on top of HEAD."""
    tree = dev.git("rev-parse", "HEAD^{tree}").strip()
    parent = dev.git("rev-parse", "HEAD").strip()
    stamp = b" 1790000000 +0000\n"
    raw = (
        f"tree {tree}\nparent {parent}\n".encode()
        + b"author "
        + author
        + stamp
        + b"committer "
        + author
        + stamp
        + b"\n"
        + message
    )
    made = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=dev.clone,
        env=dev.env,
        input=raw,
        capture_output=True,
        check=True,
    )
    sha = made.stdout.decode().strip()
    dev.git("update-ref", "refs/heads/main", sha)
    dev.git("reset", "-q", "--hard", sha)
    return sha


def reading(dev: Developer, old: str, new: str) -> dict:
    body = read([f"{old} {new} refs/heads/main\n"], {**dev.env, "GIT_DIR": str(dev.clone / ".git")})
    assert body is not None
    return {c["sha"]: c for c in body["commits"]}


# --- the reader ----------------------------------------------------------------------------------


def test_commit_text_shaped_like_the_record_format_stays_in_its_own_field(dev: Developer) -> None:
    base = dev.commit("Add the cart")
    decoy = "f" * 40
    subject = f"Tidy \x1e{decoy}\x1fEvil <e@x>\x1fsplit\x1f\x1d\x1c end"
    first = dev.commit(
        subject + "\n\nReviewed-by: Ola\x1dLine-Fix\x1cfaked\x1fagain\n",
        {"app.py": "1", f"\x1e{decoy}\x1f": "x", "new\nline.txt": "y", decoy: "z"},
    )
    second = dev.commit("Plain", {"app.py": "2"})

    commits = reading(dev, base, second)

    assert set(commits) == {first, second}
    tidy = commits[first]
    assert tidy["subject"] == subject
    assert tidy["author"] == "Dana Kim <dana@example.com>"
    assert tidy["trailers"] == {"Reviewed-by": ["Ola\x1dLine-Fix\x1cfaked\x1fagain"]}
    assert sorted(tidy["paths"]) == sorted(["app.py", f"\x1e{decoy}\x1f", "new\nline.txt", decoy])
    assert commits[second]["paths"] == ["app.py"]


def test_a_legacy_encoded_message_and_a_nul_byte_are_read_never_refused(dev: Developer) -> None:
    base = dev.commit("Add the cart")
    latin1 = crafted(dev, "Caf\xe9 cr\xe8me\n\nLine-Fix: r\xe9par\xe9\n".encode("latin-1"))
    nul = crafted(dev, b"Before\x00after\n\nLine-Fix: hidden\n", author=b"Ev\x00il <e@x>")

    commits = reading(dev, base, nul)

    assert commits[latin1]["subject"] == "Caf\ufffd cr\ufffdme"
    assert commits[latin1]["trailers"] == {"Line-Fix": ["r\ufffdpar\ufffd"]}
    # git reads a message (and a name) up to its NUL, as it stores none of what follows as text
    assert commits[nul]["subject"] == "Before"
    assert commits[nul]["trailers"] == {}
    assert "\x00" not in json.dumps(commits)


def test_a_record_shaped_subject_cannot_pass_a_stopped_line_even_with_fail_open(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    """The finding: the split record made the hook think Andon could not be asked, and fail_open
    let the push through, unchecked and unannounced."""
    server = serving("\n[gate]\nfail_open = true\n")
    before = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stop_line(server)
    dev.commit(f"Sneak \x1e{before}\x1f past\n\nLine-Fix:\n")

    pushed = dev.push()

    assert pushed.returncode != 0
    assert "remote: Andon: the line is stopped — push to main refused." in said(pushed)
    assert "unchecked" not in said(pushed)
    assert dev.head() == before
    assert not (dev.bare / UNCHECKED).exists()


def test_a_push_the_hook_cannot_read_is_refused_even_with_fail_open(tmp_path: Path) -> None:
    (tmp_path / "andon.toml").write_text("[gate]\nfail_open = true\n")
    env = andon_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'andon.db'}", slack=None)
    env["GIT_DIR"] = str(tmp_path / "nowhere")
    line = f"{ZERO} {'a' * 40} refs/heads/main\n"

    unreadable = run_cli(["gate", "pre-receive"], env=env, cwd=tmp_path, stdin="not a ref line\n")
    no_git = run_cli(["gate", "pre-receive"], env=env, cwd=tmp_path, stdin=line)

    for done in (unreadable, no_git):
        assert done.returncode == 1, done.stderr
        assert "andon: the push could not be read" in done.stderr
        assert (
            "the push is refused: the commit check passes only what it has checked" in done.stderr
        )
        assert "let through" not in done.stderr
    assert "git log" in no_git.stderr
    assert not (tmp_path / "nowhere" / UNCHECKED).exists()


def test_an_answer_andon_did_not_give_is_refused_even_with_fail_open(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    server = serving("\n[gate]\nfail_open = true\n")
    dev.commit("Add the cart")

    pushed = dev.push(ANDON_API_TOKEN="not-the-token")

    assert pushed.returncode != 0
    assert f"Andon at {server.url} refused the hook's token (HTTP 401)" in said(pushed)
    assert REFUSED_MAIN in said(pushed)
    assert dev.head() is None


# --- pushes let through unchecked ---------------------------------------------------------------


def test_unchecked_pushes_are_recorded_and_told_once_by_the_next_push_that_reaches_andon(
    dev: Developer, serving: Callable[..., AndonServer], fake_slack: FakeSlack
) -> None:
    serving("\n[gate]\nfail_open = true\n")
    closed = f"http://127.0.0.1:{free_port()}"
    first = dev.commit("Add the cart")
    assert dev.push(ANDON_URL=closed).returncode == 0
    second = dev.commit("Add the coupon field")

    passed = dev.push(ANDON_URL=closed)

    assert passed.returncode == 0, said(passed)
    assert f"It is recorded in {(dev.bare / UNCHECKED).resolve()};" in said(passed)
    recorded = [json.loads(line) for line in (dev.bare / UNCHECKED).read_text().splitlines()]
    assert [r["refs"][0]["new"] for r in recorded] == [first, second]
    assert {r["pusher"] for r in recorded} == {"dana"}
    assert "connection refused" in recorded[0]["reason"]

    dev.commit("Round the cart total")
    reached = dev.push()
    dev.commit("Name the coupon")
    again = dev.push()

    assert reached.returncode == 0 and again.returncode == 0, said(reached) + said(again)
    told = fake_slack.wait_for(
        "chat.postMessage", lambda p: "passed the commit check unchecked" in p.get("text", "")
    )
    assert told[0].params["channel"] == CHANNEL
    assert told[0].params["text"].startswith("2 pushes passed the commit check unchecked")
    shown = json.dumps(told[0].params["blocks"])
    assert f"main {ZERO[:7]}..{first[:7]}" in shown and f"main {first[:7]}..{second[:7]}" in shown
    assert "*dana*" in shown and "connection refused" in shown
    assert (dev.bare / UNCHECKED).read_text() == ""
    unchecked = [
        c for c in fake_slack.calls("chat.postMessage") if "unchecked" in c.params.get("text", "")
    ]
    assert len(unchecked) == 1


def test_fail_open_refuses_when_the_push_cannot_be_recorded(
    dev: Developer, serving: Callable[..., AndonServer]
) -> None:
    serving("\n[gate]\nfail_open = true\n")
    (dev.bare / UNCHECKED).mkdir()  # nothing can be appended to a directory
    dev.commit("Add the cart")

    pushed = dev.push(ANDON_URL=f"http://127.0.0.1:{free_port()}")

    assert pushed.returncode != 0
    assert "a push is let through unchecked only when it is recorded" in said(pushed)
    assert dev.head() is None


@pytest.mark.parametrize("over_http", [True, False], ids=["http", "database"])
def test_a_fix_for_another_branch_does_not_pass_the_line_branch_through_either_door(
    dev: Developer, serving: Callable[..., AndonServer], over_http: bool
) -> None:
    """Without ``ANDON_URL`` the hook reads the push as the HTTP door does: each commit counts
    for the refs it lands on, so a ``Line-Fix`` bound for a feature branch does not pass main."""
    server = serving(over_http=over_http)
    assert ("ANDON_URL" in (dev.bare / "hooks" / "pre-receive").read_text()) == over_http
    base = dev.commit("Add the cart")
    assert dev.push().returncode == 0
    stop_line(server)
    dev.git("checkout", "-q", "-b", "feature")
    dev.commit("Fix the flaky test\n\nLine-Fix: green again\n", {"tests/t.py": "ok"})
    dev.git("checkout", "-q", "main")
    dev.commit("Add the coupon field")

    pushed = dev.push("main", "feature")

    assert pushed.returncode != 0
    assert "remote: Andon: the line is stopped — push to main refused." in said(pushed)
    assert dev.head() == base


# --- the announcement, in-process, on SQLite and PostgreSQL --------------------------------------


def test_andon_tells_each_unchecked_push_once_however_often_it_is_sent(database: Database) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    earlier = UncheckedPush(
        id="0123456789abcdef",
        at=datetime(2026, 11, 23, 14, 2, tzinfo=UTC),
        pusher="dana",
        refs=(RefUpdate(ZERO, "b" * 40, "refs/heads/main"),),
        reason="Andon could not be reached at http://andon:3000: connection refused.",
    )
    push = Push((RefUpdate("b" * 40, "c" * 40, "refs/heads/main"),), (), (), "ola", (earlier,))

    for _ in range(3):  # the hook died before it could forget: sent again
        with database.writing() as session:
            outbox = Outbox(session, channel=CHANNEL, clock=clock, render=notice)
            answer = check(session, notifier=outbox, clock=clock, config=AndonConfig(), push=push)
            assert answer.allow

    with database.reading() as session:
        posts = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "gate.unchecked")).all()
    assert [p.payload["text"] for p in posts] == [
        "1 push passed the commit check unchecked while Andon could not be reached"
    ]
    assert "*dana* pushed `main 0000000..bbbbbbb`" in json.dumps(posts[0].payload["blocks"])
    assert [(r.actor_name, r.via, r.detail) for r in rows] == [
        ("dana", "git", "refs/heads/main 0000000..bbbbbbb")
    ]
