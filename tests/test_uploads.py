"""Files in the outbox: the digest's chart reaches Slack through its external upload, in order,
through outages, and the terminal keeps it in a folder."""

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.outbox.chat import Outgoing, RetryLaterError
from bot.outbox.courier import Courier
from bot.outbox.notifier import MAX_FILE_BYTES, Outbox
from bot.render.chart import HEIGHT, SCALE, SERIES, WIDTH, weekly_chart
from bot.render.chart_view import view_of
from bot.slack.web import SlackChat
from bot.terminal.chat import TerminalChat
from core.clock import SystemClock
from core.digest.trend import WeekTotals
from core.notifier import MessageRef, Notice
from storage.database import Database
from storage.tables import OutboxMessage
from tests.fakes.slack import BOT_TOKEN, FakeSlack

CHANNEL = "C0LINE001"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILENAME = "digest-2026-W47.png"
TITLE = "Last 8 weeks"

pytestmark = pytest.mark.databases("sqlite")  # files in the outbox, not the database's rules
EIGHT_WEEKS = [
    WeekTotals(f"2026-W{40 + n}", deploys=d, stoppages=s, investments=i)
    for n, (d, s, i) in enumerate(
        [
            (12, 3, 2),
            (15, 2, 4),
            (9, 4, 1),
            (20, 1, 5),
            (18, 0, 3),
            (22, 2, 6),
            (25, 1, 4),
            (31, 0, 7),
        ]
    )
]


class Said(Notice):
    def __init__(self, text: str) -> None:
        self.text = text


class Shown(Notice):
    """A message with blocks, the way the digest is."""

    def __init__(self, heading: str, body: str) -> None:
        self.heading, self.body = heading, body


def render(notice: Notice) -> dict:
    if isinstance(notice, Shown):
        return {
            "text": notice.heading,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": notice.heading}},
                {"type": "section", "text": {"type": "mrkdwn", "text": notice.body}},
            ],
        }
    assert isinstance(notice, Said)
    return {"text": notice.text, "blocks": []}


def charted(weeks: list[WeekTotals]) -> bytes:
    since = weeks[0].week if weeks else None
    return weekly_chart(view_of(weeks, since=since, complete=True, timezone="UTC"))


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def chart() -> bytes:
    return charted(EIGHT_WEEKS)


def slack_courier(database: Database, slack: FakeSlack) -> Courier:
    client = WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5)
    return Courier(database, SlackChat(client), clock=SystemClock())


def outbox(session: Session, channel: str = CHANNEL) -> Outbox:
    return Outbox(session, channel=channel, clock=SystemClock(), render=render)


def queue_chart(database: Database, chart: bytes, *, channel: str = CHANNEL) -> MessageRef:
    with database.writing() as session:
        return outbox(session, channel).upload(filename=FILENAME, content=chart, title=TITLE)


def rows(database: Database) -> list[OutboxMessage]:
    with database.reading() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


# --- through Slack's external upload ----------------------------------------------------------


def test_a_chart_queued_in_a_transaction_reaches_slack_in_three_steps(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    queue_chart(database, chart)

    assert slack_courier(database, slack).flush(timeout=10) == 0
    assert [c.method for c in slack.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (ticket,) = slack.calls("files.getUploadURLExternal")
    assert ticket.params["filename"] == FILENAME
    assert int(ticket.params["length"]) == len(chart)
    (shared,) = slack.calls("files.completeUploadExternal")
    file_id = shared.params["files"][0]["id"]
    assert slack.uploaded(file_id) == chart
    assert slack.uploaded(file_id).startswith(PNG_SIGNATURE)
    assert shared.params["files"] == [{"id": file_id, "title": TITLE}]
    assert shared.params["channel_id"] == CHANNEL
    assert "thread_ts" not in shared.params
    (row,) = rows(database)
    assert (row.status, row.channel, row.ts) == ("sent", CHANNEL, file_id)


def test_a_chart_in_a_thread_lands_after_its_parent(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    with database.writing() as session:
        notifier = outbox(session)
        summary = notifier.post(Said("Weekly digest: 31 deploys, 7 investments"))
        notifier.upload(filename=FILENAME, content=chart, title=TITLE, thread=summary)

    assert slack_courier(database, slack).flush(timeout=10) == 0
    methods = [c.method for c in slack.calls() if c.method != "chat.getPermalink"]
    assert methods[0] == "chat.postMessage"
    (shared,) = slack.calls("files.completeUploadExternal")
    parent = rows(database)[0]
    assert shared.params["thread_ts"] == parent.ts
    assert shared.params["channel_id"] == parent.channel


def test_a_chart_in_a_thread_waits_while_its_parent_is_rate_limited(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    slack.fail(429, count=1, retry_after=1, methods={"chat.postMessage"})
    with database.writing() as session:
        notifier = outbox(session)
        summary = notifier.post(Said("Weekly digest"))
        notifier.upload(filename=FILENAME, content=chart, title=TITLE, thread=summary)

    assert slack_courier(database, slack).flush(timeout=15) == 0
    posts = [i for i, c in enumerate(slack.calls()) if c.method == "chat.postMessage"]
    (ticket,) = [i for i, c in enumerate(slack.calls()) if c.method.startswith("files.get")]
    assert len(posts) == 2 and posts[-1] < ticket  # the refused post, its retry, then the file


def test_a_chart_for_a_channel_named_by_hash_is_shared_with_its_id(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    with database.writing() as session:
        notifier = outbox(session, "#line")
        notifier.post(Said("Weekly digest"))
        notifier.upload(filename=FILENAME, content=chart, title=TITLE)

    assert slack_courier(database, slack).flush(timeout=10) == 0
    (post,) = slack.calls("chat.postMessage")
    (shared,) = slack.calls("files.completeUploadExternal")
    assert post.params["channel"] == "#line"
    assert shared.params["channel_id"] == rows(database)[0].channel
    assert shared.params["channel_id"].startswith("C")


def test_a_chart_attached_to_a_message_is_shared_with_its_blocks(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    with database.writing() as session:
        ref = outbox(session).upload(
            filename=FILENAME, content=chart, title=TITLE, message=Shown("Weekly digest", "*Hi*")
        )

    assert slack_courier(database, slack).flush(timeout=10) == 0
    assert not slack.calls("chat.postMessage")  # one message: the text and its picture
    (shared,) = slack.calls("files.completeUploadExternal")
    assert [b["type"] for b in shared.params["blocks"]] == ["header", "section"]
    assert "initial_comment" not in shared.params  # Slack ignores blocks beside it
    assert slack.uploaded(shared.params["files"][0]["id"]) == chart
    (row,) = rows(database)
    assert (row.id, row.status) == (ref.id, "sent")


def test_a_chart_attached_to_a_plain_message_takes_it_as_its_comment(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    with database.writing() as session:
        outbox(session).upload(
            filename=FILENAME, content=chart, title=TITLE, message=Said("Weekly digest")
        )

    assert slack_courier(database, slack).flush(timeout=10) == 0
    (shared,) = slack.calls("files.completeUploadExternal")
    assert shared.params["initial_comment"] == "Weekly digest"
    assert "blocks" not in shared.params


def test_slack_answers_internal_error_to_a_markdown_block_beside_a_file(
    slack: FakeSlack, chart: bytes
) -> None:
    """As real Slack does (chat.postMessage takes the same block): the courier tries again."""
    slack.expect_refusals()
    payload = {
        "filename": FILENAME,
        "title": TITLE,
        "content": base64.b64encode(chart).decode(),
        "blocks": [{"type": "markdown", "text": "**Weekly digest**"}],
    }
    chat = SlackChat(WebClient(token=BOT_TOKEN, base_url=slack.url, timeout=5))

    with pytest.raises(RetryLaterError, match="internal_error"):
        chat.send(Outgoing(1, "file", CHANNEL, payload))
    (refused,) = slack.refusals()
    assert (refused.method, refused.error) == ("files.completeUploadExternal", "internal_error")


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize(
    "step", ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
)
def test_slack_busy_at_any_step_of_an_upload_retries_it_later(
    database: Database, slack: FakeSlack, chart: bytes, step: str, status: int
) -> None:
    slack.fail(status, count=1, retry_after=1 if status == 429 else None, methods={step})
    queue_chart(database, chart)

    assert slack_courier(database, slack).flush(timeout=15) == 0
    shared = slack.calls("files.completeUploadExternal")[-1]
    assert slack.uploaded(shared.params["files"][0]["id"]) == chart
    (row,) = rows(database)
    assert row.status == "sent"
    assert row.attempts == 2 and row.last_error


def test_a_chart_slack_refuses_for_good_is_given_up_and_the_rest_still_goes(
    database: Database, slack: FakeSlack, chart: bytes
) -> None:
    queue_chart(database, chart, channel="X0NOWHERE")  # Slack knows no such channel
    with database.writing() as session:
        outbox(session).post(Said("still delivered"))

    assert slack_courier(database, slack).flush(timeout=10) == 0
    refused, delivered = rows(database)
    assert refused.status == "failed"
    assert "channel_not_found" in (refused.last_error or "")
    assert refused.attempts == 0  # given up at once, not retried
    assert delivered.status == "sent"


def test_a_file_over_the_outbox_limit_is_refused_and_nothing_is_queued(
    database: Database,
) -> None:
    with pytest.raises(ValueError, match="at most 1,000,000 bytes"), database.writing() as s:
        outbox(s).post(Said("Weekly digest"))
        outbox(s).upload(filename=FILENAME, content=b"x" * (MAX_FILE_BYTES + 1), title=TITLE)

    assert rows(database) == []


# --- in the terminal --------------------------------------------------------------------------


def test_the_terminal_writes_the_file_into_andon_files_and_prints_its_path(
    database: Database, chart: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shown = io.StringIO()
    queue_chart(database, chart, channel="line")

    assert Courier(database, TerminalChat(shown), clock=SystemClock()).flush(timeout=10) == 0
    assert shown.getvalue().splitlines() == [f"#1 📎 {TITLE}: andon-files/{FILENAME}"]
    assert (tmp_path / "andon-files" / FILENAME).read_bytes() == chart


def test_the_terminal_shows_a_file_in_a_thread_under_its_parent(
    database: Database, chart: bytes, tmp_path: Path
) -> None:
    shown = io.StringIO()
    with database.writing() as session:
        notifier = outbox(session, "line")
        summary = notifier.post(Said("Weekly digest"))
        notifier.upload(filename=FILENAME, content=chart, title=TITLE, thread=summary)

    chat = TerminalChat(shown, files=tmp_path / "charts")
    assert Courier(database, chat, clock=SystemClock()).flush(timeout=10) == 0
    assert shown.getvalue().splitlines() == [
        "#1 Weekly digest",
        f"  ↳ #2 in thread #1: 📎 {TITLE}: {tmp_path / 'charts' / FILENAME}",
    ]
    assert (tmp_path / "charts" / FILENAME).read_bytes() == chart


def test_the_terminal_shows_a_file_under_the_message_it_is_attached_to(
    database: Database, chart: bytes, tmp_path: Path
) -> None:
    shown = io.StringIO()
    with database.writing() as session:
        outbox(session, "line").upload(
            filename=FILENAME, content=chart, title=TITLE, message=Shown("Weekly digest", "Hi")
        )

    chat = TerminalChat(shown, files=tmp_path / "charts")
    assert Courier(database, chat, clock=SystemClock()).flush(timeout=10) == 0
    assert shown.getvalue().splitlines() == [
        "#1 Weekly digest",
        "  Hi",
        f"  📎 {TITLE}: {tmp_path / 'charts' / FILENAME}",
    ]


# --- the chart --------------------------------------------------------------------------------


def _image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH * SCALE, HEIGHT * SCALE))
    return image


def _colours(image: Image.Image) -> set[str]:
    counted = image.convert("RGB").getcolors(maxcolors=image.width * image.height) or []
    return {"#{:02X}{:02X}{:02X}".format(*rgb) for _, rgb in counted}


def test_the_chart_of_eight_weeks_is_a_png_with_every_series_drawn(chart: bytes) -> None:
    image = _image(chart)

    assert {colour for _, colour in SERIES} <= _colours(image)


def test_the_chart_is_the_same_bytes_for_the_same_weeks(chart: bytes) -> None:
    assert charted(list(EIGHT_WEEKS)) == chart


@pytest.mark.parametrize(
    "weeks",
    [
        [],
        [WeekTotals(f"2026-W{n:02d}", deploys=0, stoppages=0, investments=0) for n in range(1, 9)],
        EIGHT_WEEKS[-3:],
    ],
    ids=["no weeks", "all zeros", "three weeks"],
)
def test_the_chart_renders_without_eight_weeks_of_activity(weeks: list[WeekTotals]) -> None:
    image = _image(charted(weeks))

    assert {colour for _, colour in SERIES} <= _colours(image)  # the legend, at least
