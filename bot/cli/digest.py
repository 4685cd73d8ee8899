"""``andon digest``: the weekly digest printed (text, Markdown or JSON), its chart written to a
file, and ``--post`` to send it to the channel as the scheduler would."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # every ``andon`` start builds these parsers: keep the import light
    from bot.andon import Andon
    from bot.settings.environment import Settings
    from core.digest.report import Digest

FORMATS = ("text", "markdown", "json")


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    digest = commands.add_parser(
        "digest", help="the weekly digest: investments, the line, DORA, pages, CI"
    )
    digest.add_argument(
        "--week", default="this", help="this (default), last, or an ISO week such as 2026-W47"
    )
    digest.add_argument("--format", choices=FORMATS, default="text")
    digest.add_argument(
        "--chart", metavar="FILE", help="where to write the chart (default andon-digest-WEEK.png)"
    )
    digest.add_argument("--no-chart", action="store_true", help="write no chart")
    digest.add_argument("--post", action="store_true", help="post it to the line channel too")
    digest.add_argument("--as", dest="name", help="who you are (default: $USER)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Read through ``execute`` like ``/digest`` (same audit); exit 1 on an unreadable week."""
    from bot.intents.typed import ShowDigest
    from bot.main import chat_for, open_andon, person
    from bot.render.reply import reply
    from bot.terminal.chat import transcript
    from core.digest.report import Digest

    andon = open_andon(settings, chat_for(settings), workers=False)  # it reads, and posts
    try:
        actor = person(args.name, via="cli")
        result = andon.execute(ShowDigest(args.week, args.format == "json"), actor)
        if not isinstance(result, Digest):
            for line in transcript(reply(result)):
                print(line, file=sys.stderr)
            return 1
        sys.stdout.write(_formatted(result, args.format) + "\n")
        written = 0 if args.no_chart else _write_chart(result, args.chart)
        if written == 0 and args.post:
            _post(andon, result, settings=settings, name=args.name)
        return written
    finally:
        andon.database.dispose()


def _formatted(digest: Digest, form: str) -> str:
    from bot.render import digest as render

    return {"text": render.text, "markdown": render.markdown, "json": render.as_json}[form](digest)


def _write_chart(digest: Digest, path: str | None) -> int:
    from bot.render.chart import weekly_chart
    from bot.render.chart_view import chart_view
    from bot.workers.digests import chart_name

    target, view = Path(path or chart_name(digest)), chart_view(digest)
    try:
        target.write_bytes(weekly_chart(view))
    except OSError as failed:
        print(f"andon: cannot write the chart to {target}: {failed.strerror}", file=sys.stderr)
        return 1
    print(f"Chart written to {target} ({view.title})", file=sys.stderr)
    return 0


def _post(andon: Andon, digest: Digest, *, settings: Settings, name: str | None) -> None:
    from bot.cli.intent import deliver, watermark
    from bot.main import person
    from bot.workers import digests
    from core.digest.week import Week

    week = Week.parse(digest.week, now=andon.clock.now(), timezone=digest.timezone)
    since = watermark(andon)
    digests.post(andon, week=week, actor=person(name, via="cli"))
    deliver(andon, slack=settings.uses_slack, since=since)
    print(f"Posted the digest of {digest.week} to the line channel.", file=sys.stderr)
