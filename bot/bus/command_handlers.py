"""The commands' handlers, one per intent: each calls the rule in ``core`` that decides it, in
the unit of work the bus opened, and that rule audits it under the action the table names."""

from bot.bus.engine import Work
from bot.intents.typed import (
    AckPage,
    ActionDone,
    Help,
    OverrideOncall,
    RecordInvestments,
    ResolvePage,
    ScheduleWhys,
    SetSeverity,
    ShowActions,
    ShowChecks,
    ShowCi,
    ShowDigest,
    ShowLine,
    ShowOncall,
    ShowWhys,
    StartLine,
    StopLine,
)
from bot.render.reply import Result
from core import help, line
from core.alerts import escalation, oncall
from core.checks import judge
from core.ci import status as ci_status
from core.clock import today
from core.digest import report as digest_report
from core.digest.investments import LISTED
from core.refusal import Refusal
from core.whys import actions as whys_actions
from core.whys import form
from core.whys import rule as whys_rule
from core.whys.form import FieldErrors
from core.whys.heard import Heard


def stop_line(intent: StopLine, work: Work) -> Result:
    """``/line stop <reason>``."""
    return line.stop(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        actor=work.actor,
        reason=intent.reason,
    )


def start_line(intent: StartLine, work: Work) -> Result:
    """``/line start``, or ``/line start force <reason>`` for the admins."""
    return line.start(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        actor=work.actor,
        force=intent.force,
        admins=work.config.access.admins,
    )


def show_line(_: ShowLine, work: Work) -> Result:
    """``/line status``."""
    return line.status(work.session, clock=work.clock, actor=work.actor)


def show_ci(intent: ShowCi, work: Work) -> Result:
    """``/ci <sha>``."""
    return ci_status.status(
        work.session,
        clock=work.clock,
        actor=work.actor,
        config=work.config,
        revision=intent.revision,
    )


def show_whys(_: ShowWhys, work: Work) -> Result:
    """``/whys``."""
    return whys_rule.show(work.session, clock=work.clock, actor=work.actor)


def set_severity(intent: SetSeverity, work: Work) -> Result:
    """``/whys severity minor|major|critical``."""
    return whys_rule.set_severity(
        work.session, clock=work.clock, actor=work.actor, severity=intent.severity
    )


def schedule_whys(intent: ScheduleWhys, work: Work) -> Result:
    """``/whys schedule <when>``, typed or from the stop notice's modal."""
    return whys_rule.schedule(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        actor=work.actor,
        when=intent.when,
        timezone=work.config.team_timezone,
    )


def show_actions(intent: ShowActions, work: Work) -> Result:
    """``/actions`` or ``/actions all``."""
    return whys_actions.listing(
        work.session,
        clock=work.clock,
        actor=work.actor,
        everyone=intent.everyone,
        timezone=work.config.team_timezone,
    )


def action_done(intent: ActionDone, work: Work) -> Result:
    """``/actions done <id>`` and the *Done* buttons."""
    return whys_actions.mark_done(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        actor=work.actor,
        item_id=intent.item_id,
    )


def record_investments(intent: RecordInvestments, work: Work) -> Heard | FieldErrors:
    """The investments form: every filled field read like a thread reply; what is wrong comes
    back per level, for the form to show under its field."""
    stoppage_id = int(intent.stoppage or 0)
    found = form.read_fields(
        dict(enumerate(intent.fields, start=1)),
        author=work.actor.id,
        author_name=work.actor.name,
        today=today(work.clock, work.config.team_timezone),
    )
    if isinstance(found, FieldErrors):
        return found
    result = form.submit(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        actor=work.actor,
        stoppage_id=stoppage_id,
        found=found,
    )
    if isinstance(result, Refusal):
        return FieldErrors({min(i.level for i in found): result.reason})
    return result


def show_oncall(_: ShowOncall, work: Work) -> Result:
    """``/oncall``."""
    return oncall.show(work.session, config=work.config.oncall, clock=work.clock, actor=work.actor)


def override_oncall(intent: OverrideOncall, work: Work) -> Result:
    """``/oncall override @user until <when>``."""
    return oncall.override(
        work.session,
        config=work.config.oncall,
        clock=work.clock,
        notifier=work.notifier,
        actor=work.actor,
        user=intent.user,
        until=intent.until,
    )


def ack_page(intent: AckPage, work: Work) -> Result:
    """A page's *Acknowledge* button."""
    return escalation.acknowledge(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        config=work.config,
        actor=work.actor,
        page_id=intent.page_id,
    )


def resolve_page(intent: ResolvePage, work: Work) -> Result:
    """A page's *Resolve* button."""
    return escalation.resolve(
        work.session,
        notifier=work.notifier,
        clock=work.clock,
        config=work.config,
        actor=work.actor,
        page_id=intent.page_id,
    )


def show_digest(intent: ShowDigest, work: Work) -> Result:
    """``/digest [this|last|2026-W47]``."""
    return digest_report.show(
        work.session,
        config=work.config,
        clock=work.clock,
        actor=work.actor,
        which=intent.week,
        listed=None if intent.every_overdue_item else LISTED,
    )


def show_checks(_: ShowChecks, work: Work) -> Result:
    """``/checks``."""
    return judge.shown(work.session, checks=work.config.checks, clock=work.clock, actor=work.actor)


def help_asked(intent: Help, work: Work) -> Result:
    """Help, or what was not understood: answered with the usage, and audited."""
    help.asked(
        work.session, clock=work.clock, actor=work.actor, not_understood=intent.not_understood
    )
    return intent
