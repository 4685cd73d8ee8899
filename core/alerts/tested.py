"""A sender's test notification — Grafana's contact-point *Test* button — is no alert: whoever
pressed it wants to see it arrive, so the channel hears it once; nobody is paged, the line runs."""

from sqlmodel import Session

from core import audit
from core.alerts.notices import SenderTested
from core.alerts.paging import ACTION
from core.alerts.telling import source_actor
from core.audit import Outcome
from core.clock import Clock
from core.notifier import Notifier


def heard(session: Session, *, notifier: Notifier, clock: Clock, sender: str, source: str) -> None:
    """Said in the channel, and audited like any delivery."""
    notifier.post(SenderTested(sender))
    audit.record(
        session,
        clock=clock,
        actor=source_actor(source),
        action=ACTION,
        outcome=Outcome.OK,
        detail=f"{sender}'s test notification",
        message="said in the channel; nobody paged, the line left as it is",
    )
