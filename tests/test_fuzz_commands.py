"""Whatever people type — any slash command's text, any reply in a five-whys thread — Andon
answers in words: usage, a refusal, or what it did; never an unhandled exception.

The engine is the real one (``Andon.execute`` and ``Andon.hear``) on a real SQLite database, with
a git repository to resolve revisions in and a local environment to deploy to; a few examples go
through the signed ``/slack/events`` of the same in-process server.
"""

import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.andon import ThreadPlace
from bot.intents.typed import COMMANDS, Help, Intent, parse
from bot.render.reply import Failure, reply
from core.actor import Actor
from core.clock import ManualClock
from core.whys.phase import Phase
from storage.tables import Stoppage, Whys
from tests.deploy_line import App, toml_value
from tests.fakes.slack import FakeSlack
from tests.fuzzing import fuzz
from tests.harness import CHANNEL
from tests.inprocess import InProcessAndon
from tests.slack_requests import slash_command, thread_reply

# A campaign: `make campaign` (run by .ci/run after `make test`), not `make test`.
pytestmark = pytest.mark.campaign

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
PERSON = Actor(id="U0FUZZ", name="fuzz", via="slack")
ADMIN = Actor(id="U0LEAD", name="lead", via="slack")

WORDS = [
    *("stop", "start", "force", "status", "help", "override", "confirm", "fix:", "all"),
    *("production", "staging", "severity", "minor", "major", "critical", "schedule", "until"),
    *("tomorrow", "10:00", "mon 09:00", "in 2h", "1d", "90s", "now", "24:61", "2026-02-30"),
    *("this", "last", "2026-W47", "2026-W99", "0000-W00", "<@U0ANA>", "<@W1|x>", "U0ANA"),
    *("main", "HEAD", "HEAD~1", "0" * 40, "deadbeef", "-1", "0", "9" * 30, "--upload-pack=x"),
    *("$(touch /tmp/andon-pwned)", "`id`", ";", "|", "../..", "\x00", "\n", "\r\n", "\t"),
    *("edit 2:", "back", "1:", "none:", "due 2026-12-04", "#tests", "*bold*", "<!channel>"),
]
TEXT = st.one_of(
    st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=7).map(" ".join),
    st.text(max_size=300),
)
COMMAND = st.sampled_from([*COMMANDS, "/LINE", " /deploy ", "/nope", ""])
# The words each command starts with, so that most cases get past "I don't know".
OPENINGS = {
    "/line": ["stop", "start", "start force", "status", "help", "STOP"],
    "/ci": ["main", "HEAD", "0" * 40, "deadbeef"],
    "/deploy": ["", "status", "main", "HEAD production", "main fix:", "override"],
    "/rollback": ["", "production", "confirm", "production HEAD~1"],
    "/oncall": ["", "override <@U0ANA> until", "override U0BEN until"],
    "/checks": [""],
    "/whys": ["", "severity", "schedule", "severity major"],
    "/actions": ["", "all"],
    "/digest": ["", "this", "last", "2026-W47"],
}


@st.composite
def typed(draw: st.DrawFn, commands: st.SearchStrategy[str] = COMMAND) -> tuple[str, str]:
    """A command and its text: mostly one of its own openings and then anything."""
    command = draw(commands)
    openings = OPENINGS.get(command.strip().lower(), [""])
    text = draw(TEXT)
    if draw(st.integers(0, 3)):
        text = f"{draw(st.sampled_from(openings))} {text}"
    return command, text


@pytest.fixture(scope="module")
def andon(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator:
    root = tmp_path_factory.mktemp("fuzz-commands")
    app = App(root / "git")
    app.commit("first", {"README": "hello\n"})
    app.git("push", "-q", "origin", "main")
    config = "\n".join(
        [
            "[slack]",
            f'channel = "{CHANNEL}"',
            "[repo]",
            f"path = {toml_value(str(app.clone))}",
            "[access]",
            'admins = ["U0LEAD"]',
            "[environments.production]",
            f"path = {toml_value(str(root / 'hosts' / 'production'))}",
            'hosts = ["local"]',
            "[oncall]",
            'rotation = ["U0ANA", "U0BEN"]',
            "[digest]",
            'when = "mon 09:00"',
        ]
    )
    running = InProcessAndon(
        root / "andon", config=config + "\n", slack=fake_slack, clock=ManualClock(T0)
    ).start()
    yield running
    running.stop()


def _said(result: object) -> str:
    return reply(result)["text"]  # type: ignore[arg-type]


def test_parse_reads_any_text_into_an_intent() -> None:
    """Not fuzzed: the words that must mean something still do."""
    assert parse("/line", "stop CI is red").reason == "CI is red"  # type: ignore[union-attr]
    assert parse("/deploy", "main fix:", environments=["production"]) == Help(
        "/deploy main fix: (say why after fix:)"
    )


@fuzz(500)
@given(sent=typed())
def test_any_command_text_parses_to_an_intent(sent: tuple[str, str]) -> None:
    command, text = sent
    intent = parse(command, text, environments=["production", "staging"])
    assert isinstance(intent, Intent)  # type: ignore[arg-type]
    event(type(intent).__name__)


@fuzz(150)
@given(sent=typed(), admin=st.booleans())
def test_any_command_is_answered_in_words_never_with_an_error(
    andon: InProcessAndon, sent: tuple[str, str], admin: bool
) -> None:
    command, text = sent
    engine = andon.andon
    intent = parse(command, text, environments=engine.config.environments)
    result = engine.execute(intent, ADMIN if admin else PERSON)
    assert not isinstance(result, Failure), f"{command} {text!r} → {intent!r} failed: see the log"
    assert _said(result).strip()
    event(type(result).__name__)


REPLIES = st.one_of(
    TEXT,
    st.builds("edit {}: {}".format, st.integers(0, 7), TEXT),
    st.just("back"),
    st.builds(
        "{}: {} {} due {} #{}".format,
        st.integers(0, 7),
        TEXT,
        st.sampled_from(["<@U0ANA>", "<@U0ANA|ana>", "@ana", ""]),
        st.sampled_from(["2026-12-04", "2026-02-30", "tomorrow", "yesterday", "x"]),
        st.text(max_size=10),
    ),
    st.builds("{}: none: {}".format, st.integers(1, 5), TEXT),
)


def _open_thread(andon: InProcessAndon) -> int:
    """The open stoppage's thread, or a new stoppage once the last analysis is done."""
    engine = andon.andon
    with engine.database.reading() as session:
        open_ = session.exec(select(Stoppage).where(col(Stoppage.closed_at).is_(None))).first()
        # read, never create: whys_of would insert the row inside this read-only session
        row = (
            session.exec(select(Whys).where(Whys.stoppage_id == open_.id)).first()
            if open_ is not None
            else None
        )
        finished = row is not None and Phase.of(row).done
    if open_ is None or finished:
        engine.execute(parse("/line", "start force fuzzing goes on"), ADMIN)
        engine.execute(parse("/line", "stop fuzzing the five whys"), PERSON)
        with engine.database.reading() as session:
            open_ = session.exec(select(Stoppage).where(col(Stoppage.closed_at).is_(None))).one()
    assert open_ is not None and open_.thread_id is not None
    return open_.thread_id


@fuzz(150)
@given(replies=st.lists(REPLIES, min_size=1, max_size=8))
def test_any_thread_reply_is_heard_never_with_an_error(
    andon: InProcessAndon, replies: list[str]
) -> None:
    place = ThreadPlace(message_id=_open_thread(andon))
    for text in replies:
        heard = andon.andon.hear(place, PERSON, text)  # raises on an unhandled error
        event("answered" if heard.answered else "invested" if heard.invested else "other")


_events = itertools.count(1)


@fuzz(12)
@given(sent=typed(st.sampled_from(COMMANDS)))  # the ones the Slack app registers
def test_a_signed_slash_command_with_any_text_is_answered_in_words(
    andon: InProcessAndon, caplog: pytest.LogCaptureFixture, sent: tuple[str, str]
) -> None:
    command, text = sent
    body, kind = slash_command(
        command, text, user="U0FUZZ", name="fuzz", response_url=andon.slack.response_url("f")
    )
    answer = andon.slack_post(body, kind)
    assert answer.status_code == 200, answer.text
    said = answer.json()["text"] if answer.content else ""
    assert "went wrong" not in said, said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@fuzz(12)
@given(text=REPLIES)
def test_a_signed_thread_reply_with_any_text_is_heard(
    andon: InProcessAndon, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    andon.andon.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    _open_thread(andon)
    andon.deliver()
    thread_ts = andon.api("/api/line")["stoppage"]["thread_ts"]
    body, kind = thread_reply(
        text, user="U0FUZZ", thread_ts=thread_ts, event_id=f"EvFuzz{next(_events):06d}"
    )
    assert andon.slack_post(body, kind).status_code == 200
    andon.deliver()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
