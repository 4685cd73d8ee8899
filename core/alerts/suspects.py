"""A page lists the deploys shortly before it with a *Roll back* button each; once another
release goes live on that environment, the button of the release it replaced can only be
refused — so the pages that suspect it are shown again without it, in the DM and the channel.
The same goes for the flags it suspects: once a flag moves again (turned off by its *Turn off*
button, or by ``/flag off``), the pages that suspect it say so."""

from sqlmodel import Session, col, select

from core.alerts.notices import Paged
from core.alerts.pages import PageStatus, views
from core.alerts.telling import in_channel
from core.clock import Clock
from core.config.file import AndonConfig
from core.notifier import MessageRef, Notifier
from storage.tables import Deploy, Flag, FlagChange, Page

LIVE = (PageStatus.OPEN.value, PageStatus.ACKNOWLEDGED.value)


def release_replaced(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    environment: str,
    revision: str,
) -> None:
    """``revision`` stopped running on ``environment``: every live page suspecting one of its
    deploys is updated in place (only those: an unchanged message is never re-sent)."""
    pages = session.exec(
        select(Page).where(col(Page.status).in_(LIVE)).order_by(col(Page.id))
    ).all()
    if not any(page.suspects for page in pages):
        return  # no live page suspects any deploy: nothing to read, nothing to show again
    deploys = set(
        session.exec(
            select(Deploy.id).where(Deploy.environment == environment, Deploy.revision == revision)
        ).all()
    )
    touched = [page for page in pages if deploys & set(page.suspects)]
    _show_again(session, touched, notifier=notifier, clock=clock, config=config)


def flag_moved(
    session: Session,
    *,
    notifier: Notifier,
    clock: Clock,
    config: AndonConfig,
    key: str,
    environment: str,
) -> None:
    """Flag ``key`` moved in ``environment``: every live page suspecting one of its changes
    there is shown again — who turned it off, and no *Turn off* button once it is off."""
    pages = session.exec(
        select(Page).where(col(Page.status).in_(LIVE)).order_by(col(Page.id))
    ).all()
    if not any(page.flag_suspects for page in pages):
        return
    changes = set(
        session.exec(
            select(FlagChange.id)
            .join(Flag, col(Flag.id) == col(FlagChange.flag_id))
            .where(Flag.key == key, FlagChange.environment == environment)
        ).all()
    )
    touched = [page for page in pages if changes & set(page.flag_suspects)]
    _show_again(session, touched, notifier=notifier, clock=clock, config=config)


def _show_again(
    session: Session, touched: list[Page], *, notifier: Notifier, clock: Clock, config: AndonConfig
) -> None:
    if not touched:
        return
    for page, view in zip(
        touched, views(session, touched, clock=clock, config=config), strict=True
    ):
        if page.dm_id is not None:
            notifier.update(MessageRef(page.dm_id), Paged(view))
        if page.channel_id is not None:
            notifier.update(MessageRef(page.channel_id), in_channel(session, page, view))
