"""What a delivery changed is told once it is all recorded: the line stops for its new pages,
the person on call gets one DM per page (listing its alerts), and pages whose alerts joined or
left have their DM and channel message updated in place — once, however many chunks it took.

A page that was opened but never told (its delivery failed half-way and is being retried) is
told by the next delivery that sees it, so a retry leaves nothing unsaid. A firing alert whose
severity or summary changed is told to the person paged (the channel, when nobody is), and
stops the line if its routes now say so.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core import line
from core.actor import Actor
from core.alerts import flag_suspects, grouping, senders
from core.alerts.notices import Change, PageChanged, Paged, PagedWhileStopped, PageWithoutStop
from core.alerts.opening import event
from core.alerts.pages import PageStatus, PageView, counts, views
from core.clock import Clock
from core.config.file import AndonConfig
from core.notifier import MessageRef, Notice, Notifier
from core.whys import rule as whys_rule
from core.whys import severity
from storage.tables import Page, PageEvent

JOINED = "joined"  # a page's event: it joined a stoppage already open, with its own post


@dataclass
class Told:
    """The pages of one delivery, gathered chunk after chunk (ids)."""

    seen: set[int] = field(default_factory=set)  # pages its alerts are in
    created: set[int] = field(default_factory=set)  # pages it opened, held or paged
    changed: set[int] = field(default_factory=set)  # older pages whose alerts it changed
    news: dict[int, list[Change]] = field(default_factory=dict)  # what firing alerts say now
    untold: set[int] = field(default_factory=set)  # pages it saw that nobody has heard of yet

    def quiet(self) -> bool:
        """Nothing to say: the delivery opened nothing, changed nothing, and every page it saw
        has been told (the pure repeat of a storm)."""
        return not (self.created or self.changed or self.untold)


def source_actor(source: str, sender: str | None = None) -> Actor:
    """Monitoring acts on the line like a person does, and is named like one — by the
    integration people know ("Alertmanager"), not the webhook format's name."""
    return Actor(id=f"alerts:{source}", name=senders.named(source, sender), via="alert")


def tell(
    session: Session, *, notifier: Notifier, clock: Clock, config: AndonConfig, told: Told
) -> None:
    """Say what the delivery changed, each page once."""
    ids = sorted(told.seen | told.created | told.changed)
    if not ids:
        return
    groups = session.exec(select(Page.identity).where(col(Page.id).in_(ids))).all()
    grouping.serialise(session, groups)  # another delivery of these groups tells them, or we do
    pages = session.exec(select(Page).where(col(Page.id).in_(ids)).order_by(col(Page.id))).all()
    untold = [page for page in pages if is_untold(page)]
    new = {page.id for page in untold}
    changed = [
        page
        for page in pages
        if page.id in told.changed
        and page.id not in new
        and (page.dm_id is not None or page.channel_id is not None)
    ]
    stopping = [page for page in changed if page.id in told.news and _stops_now(page)]
    posted = _stop_line(
        session, notifier=notifier, clock=clock, config=config, pages=[*untold, *stopping]
    )
    shown = _views(session, [*untold, *changed], posted, clock=clock, config=config)
    for page, view in zip(untold, shown, strict=False):
        if page.oncall is not None:
            page.dm_id = notifier.dm(page.oncall, Paged(view)).id
        if (not page.stops_line or page.oncall is None) and page.id not in posted:
            page.channel_id = notifier.post(PageWithoutStop(view)).id
        session.add(page)
    for page, view in zip(changed, shown[len(untold) :], strict=True):
        if page.dm_id is not None:
            notifier.update(MessageRef(page.dm_id), Paged(view))
        if page.channel_id is not None:
            notifier.update(MessageRef(page.channel_id), in_channel(session, page, view))
        news = told.news.get(page.id or 0)
        if news:
            said = PageChanged(view, tuple(news))
            if page.oncall is not None:
                notifier.dm(page.oncall, said)
            else:
                notifier.post(said)


def _views(
    session: Session,
    pages: Sequence[Page],
    posted: dict[int, PageView],
    *,
    clock: Clock,
    config: AndonConfig,
) -> list[PageView]:
    """The pages' views: a page that joined the stoppage with its own post was read for it
    a moment ago, in this transaction, and is shown as it was read."""
    fresh = iter(
        views(session, [p for p in pages if p.id not in posted], clock=clock, config=config)
    )
    return [posted[page.id] if page.id in posted else next(fresh) for page in pages]


def _stops_now(page: Page) -> bool:
    """A changed page whose routes now stop the line, and which has not stopped it yet."""
    live = page.status in (PageStatus.OPEN.value, PageStatus.ACKNOWLEDGED.value)
    return live and page.stops_line and page.stoppage_id is None


def in_channel(session: Session, page: Page, view: PageView) -> Notice:
    """A page's own channel message: a cause that joined a stoppage, or a page the line runs
    through (or that nobody is on call for)."""
    joined = session.exec(
        select(PageEvent.id).where(PageEvent.page_id == page.id, PageEvent.kind == JOINED)
    ).first()
    if joined is not None and page.stoppage_id is not None:
        return PagedWhileStopped((view,), page.stoppage_id)
    return PageWithoutStop(view)


def is_untold(page: Page) -> bool:
    """Paged, but nobody has heard of it yet: no DM, no channel message, never escalated."""
    return (
        page.status != PageStatus.HELD.value
        and page.level == 0
        and page.dm_id is None
        and page.channel_id is None
    )


def _stop_line(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    pages: Sequence[Page],
) -> dict[int, PageView]:
    """Every new page that stops the line is a cause of the stoppage; the lock is taken once.

    A page that opens the stoppage is its announcement; pages that join a stoppage already open
    get their own post in the channel — one for the delivery's new pages, linked from the
    thread. Returns the pages so posted, with their views."""
    stopping = [page for page in pages if page.stops_line and page.stoppage_id is None]
    posted: dict[int, PageView] = {}
    if not stopping:
        return posted

    def own_post(stoppage_id: int, indexes: Sequence[int]) -> MessageRef:
        joining = [stopping[index] for index in indexes]
        shown = views(session, joining, clock=clock, config=config)
        post = notifier.post(PagedWhileStopped(tuple(shown), stoppage_id))
        now = clock.now()
        for page, view in zip(joining, shown, strict=True):
            posted[page.id or 0] = view
            if len(joining) == 1:  # its own message, updated as its alerts change
                page.channel_id = post.id
            said = f"stoppage #{stoppage_id}, stopped already"
            event(session, page, now, JOINED, source_actor(page.source, page.sender).name, said)
        return post

    causes = _causes(session, stopping)
    joined = line.stop_many(
        session, notifier=notifier, clock=clock, causes=causes, own_post=own_post
    )
    _tie_to_stoppages(session, stopping, joined=joined)
    return posted


def _causes(session: Session, stopping: Sequence[Page]) -> list[tuple[Actor, str]]:
    """Each page as a cause of the stoppage, by its sender, with how many alerts it holds — and
    the flags turned on or up shortly before it, which its five whys then starts from."""
    sizes = counts(session, [page.id for page in stopping if page.id is not None])
    flags = flag_suspects.views(session, (c for page in stopping for c in page.flag_suspects))
    causes = []
    for page in stopping:
        more = sum(sizes.get(page.id or 0, {}).values()) - 1
        also = f" (and {more} more alert{'s' if more > 1 else ''})" if more > 0 else ""
        said = f"page: {page.name} — {page.summary}{also}"
        mine = flag_suspects.once(flags[c] for c in page.flag_suspects if c in flags)
        blame = flag_suspects.blamed(mine, at=page.opened_at)
        if blame:
            said = f"{said[: line.MAX_REASON - len(blame) - 3]} — {blame}"
        causes.append((source_actor(page.source, page.sender), said))
    return causes


def _tie_to_stoppages(
    session: Session, stopping: Sequence[Page], *, joined: Sequence[int | None]
) -> None:
    """Pages are tied to the stoppage they caused, whose analysis takes the worst severity."""
    heaviest: dict[int, severity.Severity] = {}
    for page, stoppage_id in zip(stopping, joined, strict=True):
        if stoppage_id is not None:
            page.stoppage_id = stoppage_id
            session.add(page)
            found = severity.from_alert(page.severity)
            heaviest[stoppage_id] = max(heaviest.get(stoppage_id, found), found, key=_ORDER.index)
    for stoppage_id, worst in heaviest.items():
        whys_rule.from_alert(session, stoppage_id, worst)


_ORDER = list(severity.Severity)
