"""The events an operator looks for in the log, one INFO line each: the line stopped or started,
a deploy or rollback begun or finished, a page opened, acknowledged or escalated, the digest
posted. (A webhook refused is said at the HTTP door, ``bot.http.refusals``.)

They are read from what ``core`` already tells: the notices a unit of work queued, once it has
committed (``told``) — a change rolled back is not logged — and the results of the bus
(``handled``). Each line carries its fields as ``extra=`` under ``event`` and the ids, which the
JSON format (``ANDON_LOG_FORMAT=json``) shows as keys; the text format shows the sentence.
"""

import json
import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from core.actor import Actor
from core.alerts.escalation import Acknowledged
from core.alerts.notices import Escalated, NotReached, Round, Unacknowledged
from core.alerts.paging import AlertsRecorded
from core.deploy.notices import DeployProgress
from core.deploy.records import DeployView
from core.deploy.state import DeployState
from core.digest.report import DigestNotice
from core.line_notices import LineStarted, LineStopped
from core.notifier import Notice

log = logging.getLogger("andon.events")

POST = "post"  # how a notice was told: Outbox.post, reply, dm, update, upload
REASON = 300  # characters of a reason in the sentence; the field keeps all of it


class EventLog:
    """One per engine. It remembers the deploys it saw begin, so that the many updates of a
    deploy's progress make one *begun* line and one *finished* line."""

    def __init__(self) -> None:
        self._running: set[int] = set()
        self._lock = threading.Lock()

    def told(self, said: Iterable[tuple[str, Notice]]) -> None:
        """What one committed unit of work announced, ``(how, notice)`` in order."""
        for how, notice in said:
            try:
                self._notice(how, notice)
            except Exception:  # the log never breaks the work it describes
                log.exception("could not log %s", type(notice).__name__)

    def handled(self, message: object, result: object) -> None:
        """What a message of the bus came to: the pages a delivery opened, a page acknowledged."""
        try:
            if isinstance(result, AlertsRecorded):
                source = str(getattr(message, "source", ""))
                for page_id in result.page_ids:
                    _event(
                        f"page #{page_id} opened ({source})",
                        "page.opened",
                        page_id=page_id,
                        source=source,
                    )
            elif isinstance(result, Acknowledged):
                page = result.page
                by = _name(page.acked_by)
                _event(
                    f"page #{page.id} ({page.name}) acknowledged by {by}",
                    "page.acknowledged",
                    page_id=page.id,
                    alert=page.name,
                    by=by,
                )
        except Exception:
            log.exception("could not log the result of %s", type(message).__name__)

    def _notice(self, how: str, notice: Notice) -> None:
        match notice:
            case LineStopped() if how == POST:
                _event(
                    f"line stopped: stoppage #{notice.stoppage_id} by {_name(notice.by)}: "
                    f"{_quoted(notice.reason)}",
                    "line.stopped",
                    stoppage_id=notice.stoppage_id,
                    reason=notice.reason,
                    by=_name(notice.by),
                )
            case LineStarted() if how == POST:
                forced = f", forced: {_quoted(notice.forced)}" if notice.forced else ""
                _event(
                    f"line started: stoppage #{notice.stoppage_id} closed by {_name(notice.by)} "
                    f"after {_seconds(notice.stopped_for):g} s{forced}",
                    "line.started",
                    stoppage_id=notice.stoppage_id,
                    by=_name(notice.by),
                    stopped_seconds=_seconds(notice.stopped_for),
                    forced=notice.forced,
                )
            case DeployProgress():
                self._deploy(notice.deploy)
            case Escalated():
                to = "the channel" if notice.to_channel else notice.page.oncall or "nobody"
                _escalated([notice.page.id], to=to)
            case Unacknowledged() if notice.kind != Round.REPEAT:
                following = notice.pages[0].oncall if notice.pages else None
                to = following or "the next person on call"
                to = "the channel" if notice.kind == Round.CHANNEL else to
                _escalated(list(notice.ids), to=to)
            case NotReached():
                _escalated(
                    [notice.page.id], to=notice.paging or "the channel", unreached=notice.user
                )
            case DigestNotice():
                week = notice.digest.week
                _event(f"digest of {week} posted", "digest.posted", week=week)
            case _:
                pass

    def _deploy(self, deploy: DeployView) -> None:
        with self._lock:
            if deploy.status == DeployState.RUNNING and deploy.id not in self._running:
                self._running.add(deploy.id)
                phase = "begun"
            elif deploy.status.finished and deploy.id in self._running:
                self._running.discard(deploy.id)
                phase = "finished"
            else:
                return
        kind = deploy.kind.value
        said = f"{kind} #{deploy.id} of {deploy.short} to {deploy.environment} {phase}"
        fields: dict[str, Any] = {
            "deploy_id": deploy.id,
            "kind": kind,
            "environment": deploy.environment,
            "revision": deploy.revision,
            "status": deploy.status.value,
            "by": _name(deploy.requested_by),
            "hosts": len(deploy.hosts),
        }
        if phase == "begun":
            said += f" (asked by {fields['by']}, {len(deploy.hosts)} host(s))"
        else:
            took = _seconds(deploy.duration) if deploy.duration is not None else None
            said += f": {deploy.status.value}" + (f" in {took:g} s" if took is not None else "")
            said += f" — {_quoted(deploy.error)}" if deploy.error else ""
            fields.update(duration_seconds=took, error=deploy.error)
        _event(said, f"{kind}.{phase}", **fields)


def _escalated(page_ids: list[int], *, to: str, unreached: str | None = None) -> None:
    pages = ", ".join(f"#{page_id}" for page_id in page_ids)
    why = f" ({unreached} could not be reached)" if unreached else ""
    fields: dict[str, Any] = {"to": to, "unreached": unreached}
    if len(page_ids) == 1:
        fields["page_id"] = page_ids[0]
    else:
        fields["page_ids"] = page_ids
    _event(f"page {pages} escalated to {to}{why}", "page.escalated", **fields)


def _event(sentence: str, event: str, **fields: Any) -> None:
    log.info("%s", sentence, extra={"event": event, **fields})


def _name(actor: Actor | None) -> str:
    return _plain(actor.name) if actor is not None else "nobody"


def _plain(text: str) -> str:
    """A name on one line: a control character could otherwise start a forged one."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _quoted(text: str) -> str:
    """Text from outside (a reason), quoted and escaped onto one line, cut for the sentence."""
    cut = text if len(text) <= REASON else text[: REASON - 1] + "…"
    return json.dumps(cut, ensure_ascii=False)


def _seconds(took: timedelta) -> float:
    return round(took.total_seconds(), 1)
