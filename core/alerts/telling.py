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
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    told: Told,
    line_first: bool = False,
) -> None:
    """Say what the delivery changed, each page once.

    All but the line's own change — the pages' views, DMs and posts — is prepared for the line
    as first read, before its row is locked: on PostgreSQL that lock is held to the commit, and
    a storm's page-opening deliveries queue for it one after another. Should the line start or
    stop in between, ``LineMovedError`` rolls it all back; ``line_first`` (the retry) locks the row
    at that first read."""
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
    restops = [page for page in changed if page.id in told.news and _stops_now(page)]
    sizes = counts(session, [page.id for page in [*untold, *changed] if page.id is not None])
    seen = line.current(session, lock=line_first)
    stop = _Stop.planned(session, [*untold, *restops], seen, sizes=sizes)
    after = stop.line_after(clock)
    shown = views(
        session, [*untold, *changed], clock=clock, config=config, line=after, counted=sizes
    )
    posted = stop.own_post(session, notifier=notifier, clock=clock, shown=shown)
    _say(
        session,
        notifier=notifier,
        told=told,
        untold=untold,
        changed=changed,
        shown=shown,
        posted=posted,
    )
    stop.pull(session, notifier=notifier, clock=clock)


def _say(
    session: Session,
    *,
    notifier: Notifier,
    told: Told,
    untold: Sequence[Page],
    changed: Sequence[Page],
    shown: Sequence[PageView],
    posted: set[int],
) -> None:
    """Each new page's DM (or channel post), each changed page's messages updated in place and
    what its firing alerts now say; the page rows written before the line is locked."""
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
    session.flush()


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


@dataclass
class _Stop:
    """The stop a delivery's new pages make, prepared for the line as it was read: which pages
    are its causes, and whether they open a stoppage or join the one already open."""

    seen: line.LineNow
    stopping: list[Page]
    causes: list[tuple[Actor, str]]
    joining: list[Page]  # the causes a stop will take (not refused)
    post: MessageRef | None = None  # their own post, when they join a stoppage open before

    @classmethod
    def planned(
        cls,
        session: Session,
        pages: Sequence[Page],
        seen: line.LineNow,
        *,
        sizes: dict[int, dict[str, int]],
    ) -> "_Stop":
        stopping = [page for page in pages if page.stops_line and page.stoppage_id is None]
        causes = _causes(session, stopping, sizes=sizes)
        taken = [p for p, (_, why) in zip(stopping, causes, strict=True) if not line.refusal(why)]
        return cls(seen, stopping, causes, taken)

    def line_after(self, clock: Clock) -> line.LineNow:
        """The line as the delivery leaves it: what its pages' messages show it costs."""
        if self.joining and self.seen.state != line.LineState.STOPPED:
            return line.LineNow(line.LineState.STOPPED, clock.now(), None)
        return self.seen

    def own_post(
        self, session: Session, *, notifier: Notifier, clock: Clock, shown: Sequence[PageView]
    ) -> set[int]:
        """Pages joining a stoppage open before the delivery get their own post in the channel,
        one for all of them, linked from the thread. Returns the pages so posted."""
        stoppage_id = self.seen.stoppage_id
        if self.seen.state != line.LineState.STOPPED or stoppage_id is None or not self.joining:
            return set()
        views_by_id = {view.id: view for view in shown}
        joining = tuple(views_by_id[page.id or 0] for page in self.joining)
        self.post = notifier.post(PagedWhileStopped(joining, stoppage_id))
        now = clock.now()
        for page in self.joining:
            if len(self.joining) == 1:  # its own message, updated as its alerts change
                page.channel_id = self.post.id
            said = f"stoppage #{stoppage_id}, stopped already"
            event(session, page, now, JOINED, source_actor(page.source, page.sender).name, said)
        return {page.id or 0 for page in self.joining}

    def pull(self, session: Session, *, notifier: Notifier, clock: Clock) -> None:
        """Every new page that stops the line is a cause of the stoppage; the lock is taken
        once, and last."""
        if not self.stopping:
            return
        joined = line.stop_many(
            session,
            notifier=notifier,
            clock=clock,
            causes=self.causes,
            own_post=lambda stoppage_id, indexes: self.post,
            expect=self.seen,
        )
        _tie_to_stoppages(session, self.stopping, joined=joined)


def _causes(
    session: Session, stopping: Sequence[Page], *, sizes: dict[int, dict[str, int]]
) -> list[tuple[Actor, str]]:
    """Each page as a cause of the stoppage, by its sender, with how many alerts it holds (its
    ``counts``) — and the flags turned on or up shortly before it, which its five whys then
    starts from."""
    flags = flag_suspects.views(session, (c for page in stopping for c in page.flag_suspects))
    causes = []
    for page in stopping:
        said = _reason(page, more=sum(sizes.get(page.id or 0, {}).values()) - 1)
        mine = flag_suspects.once(flags[c] for c in page.flag_suspects if c in flags)
        blame = flag_suspects.blamed(mine, at=page.opened_at)
        if blame:
            said = f"{said[: line.MAX_REASON - len(blame) - 3]} — {blame}"
        causes.append((source_actor(page.source, page.sender), said))
    return causes


def _reason(page: Page, *, more: int) -> str:
    """The page as a stop's reason: its name and summary, the summary cut short to fit a reason
    (an alert's summary may be longer than a stop takes, and every page stops the line)."""
    also = f" (and {more} more alert{'s' if more > 1 else ''})" if more > 0 else ""
    head, summary = f"page: {page.name} — ", " ".join(page.summary.split())
    room = line.MAX_REASON - len(head) - len(also)
    if len(summary) > room:
        summary = summary[: max(room - 1, 0)] + "…"
    return f"{head}{summary}{also}"


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
