"""A stoppage's causes: the first opens the stoppage, with its announcement in the channel and the
thread where its five whys happens; each later one joins it and is said in that thread."""

from collections.abc import Sequence

from sqlmodel import Session

from core.line_notices import CauseAdded, CausesAdded, LineStopped, ThreadOpened, announcement
from core.notifier import MessageRef, Notice, Notifier
from core.stoppage import Cause, StoppageState, StoppageView, view
from core.whys.analysis import analysis
from core.whys.phase import Phase
from storage.tables import Stoppage, StoppageCause


def open_stoppage(session: Session, *, notifier: Notifier, cause: Cause) -> int:
    """A new stoppage, its first cause, its announcement and the thread under it."""
    stoppage = Stoppage(
        state=StoppageState.OPEN.value,
        opened_at=cause.at,
        opened_by=cause.by.id,
        opened_by_name=cause.by.name,
        opened_via=cause.by.via,
    )
    session.add(stoppage)
    session.flush()
    assert stoppage.id is not None
    add_cause(session, stoppage.id, cause)
    announcement = notifier.post(LineStopped(stoppage.id, cause.by, cause.text, cause.at))
    thread = notifier.reply(announcement, ThreadOpened(stoppage.id, cause.text, cause.by))
    stoppage.announcement_id, stoppage.thread_id = announcement.id, thread.id
    session.add(stoppage)
    return stoppage.id


def join_stoppage(session: Session, *, notifier: Notifier, stoppage_id: int, cause: Cause) -> None:
    """Another reason for a line already stopped: said in the stoppage's thread."""
    add_cause(session, stoppage_id, cause)
    say_added(session, notifier=notifier, stoppage_id=stoppage_id, causes=[cause])


def say_added(
    session: Session,
    *,
    notifier: Notifier,
    stoppage_id: int,
    causes: Sequence[Cause],
    post: MessageRef | None = None,
) -> None:
    """Said in the thread (linking the causes' own post, if any), and the announcement in the
    channel updated in place to show every cause."""
    stoppage = session.get(Stoppage, stoppage_id)
    if stoppage is None or stoppage.thread_id is None or not causes:
        return
    whys = analysis(session, stoppage_id)
    asks = whys if whys.phase is Phase.WHY_1 else None
    if len(causes) == 1:
        cause = causes[0]
        added: Notice = CauseAdded(stoppage_id, cause.by, cause.text, cause.at, post, asks)
    else:
        shown = tuple((cause.by, cause.text) for cause in causes)
        added = CausesAdded(stoppage_id, shown, causes[-1].at, post, asks)
    notifier.reply(MessageRef(stoppage.thread_id), added)
    if stoppage.announcement_id is not None:
        now = _shown(session, stoppage_id)
        notifier.update(MessageRef(stoppage.announcement_id), announcement(now))


def add_cause(session: Session, stoppage_id: int, cause: Cause) -> None:
    session.add(
        StoppageCause(
            stoppage_id=stoppage_id,
            at=cause.at,
            actor=cause.by.id,
            actor_name=cause.by.name,
            via=cause.by.via,
            text=cause.text,
        )
    )
    session.flush()


def _shown(session: Session, stoppage_id: int) -> StoppageView:
    found = view(session, stoppage_id)
    assert found is not None
    return found
