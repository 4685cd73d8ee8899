"""The digest's three ways out: the scheduled post, a post on demand, and text for the terminal.

``core`` computes the figures and decides when a week is due; here the chart is drawn and
attached to the post, in the same transaction that claims the week.
"""

from dataclasses import dataclass
from functools import partial

from sqlmodel import Session

from bot.andon import Andon
from bot.outbox.notifier import Outbox
from bot.render import digest as render
from bot.render.chart import weekly_chart
from bot.render.chart_view import chart_view
from core import audit
from core.actor import Actor
from core.audit import Outcome
from core.digest import report, schedule
from core.digest.report import Digest, DigestNotice
from core.digest.week import Week
from storage.tables import DigestPost

SCHEDULER = Actor(id="andon:digest", name="weekly digest", via="scheduler")


@dataclass(frozen=True)
class Posted:
    week: str
    message_id: int


def chart_name(digest: Digest) -> str:
    return f"andon-digest-{digest.week}.png"


def post_due(andon: Andon) -> Posted | None:
    """The scheduler's call: the week's digest, once, when its moment has come."""
    if andon.config.digest is None:
        return None
    now = andon.clock.now()
    week = schedule.due(andon.config.digest, now)
    if week is None or _posted_already(andon, week):
        return None
    with andon.unit_of_work() as (session, outbox):
        claimed = schedule.claim(session, week=week, now=now)
        if claimed is None:
            return None
        posted = _post(andon, session, outbox, week=week, actor=SCHEDULER)
        claimed.message_id = posted.message_id
        session.add(claimed)
    return posted


def post(andon: Andon, *, week: Week, actor: Actor) -> Posted:
    """``andon digest --post``: a person asked, so it posts even if the week went out before."""
    with andon.unit_of_work() as (session, outbox):
        return _post(andon, session, outbox, week=week, actor=actor)


def digest_text(andon: Andon, week: Week | None = None) -> str:
    """The digest as the terminal prints it (the demo's last word)."""
    now = andon.clock.now()
    chosen = week or Week.containing(now, andon.config.team_timezone)
    with andon.database.reading() as session:
        return render.text(report.build(session, week=chosen, config=andon.config, now=now))


def _posted_already(andon: Andon, week: Week) -> bool:
    """A cheap read first: the tick asks every few seconds for a day after the moment."""
    with andon.database.reading() as session:
        return session.get(DigestPost, week.label) is not None


def _post(andon: Andon, session: Session, outbox: Outbox, *, week: Week, actor: Actor) -> Posted:
    digest = report.build(session, week=week, config=andon.config, now=andon.clock.now())
    view = chart_view(digest)
    chart = partial(
        outbox.upload, filename=chart_name(digest), content=weekly_chart(view), title=view.title
    )
    if andon.channel.startswith("#"):
        # Slack shares a file only in a channel named by its ID, which a #name channel learns
        # from the answer to a post: the digest goes first, its chart follows in its thread.
        ref = outbox.post(DigestNotice(digest))
        chart(thread=ref)
    else:
        ref = chart(message=DigestNotice(digest))
    audit.record(
        session,
        clock=andon.clock,
        actor=actor,
        action="digest.post",
        outcome=Outcome.OK,
        detail=week.label,
    )
    return Posted(week.label, ref.id)
