"""What Andon says when asked for help, or when it does not understand: every command and the
thread's syntax, short, with examples — and for a typo, the command it most likely meant."""

import difflib
from collections.abc import Collection

# (command, how to use it): the whole list is `/line help`; a typo shows its command's lines.
LINES: tuple[tuple[str, str], ...] = (
    ("/line", "`/line stop <reason>` — stop the line; its five whys opens in a thread"),
    ("/line", "`/line start` — run it again, once the five whys is done or scheduled"),
    ("/line", "`/line start force <reason>` — admins: start before the five whys is done"),
    ("/line", "`/line status` — running or stopped, since when, and why"),
    ("/ci", "`/ci 3f2a9c1` — what every CI pipeline said about a commit"),
    ("/deploy", "`/deploy [rev] [env]` — ship a green revision (default: the line's head)"),
    ("/deploy", "`/deploy 3f2a9c1 production fix: <why>` — ship a fix while the line is stopped"),
    ("/deploy", "`/deploy 3f2a9c1 override` — ship a release marked bad, on purpose"),
    ("/deploy", "`/deploy 3f2a9c1 again` — deploy the live revision once more, on purpose"),
    ("/deploy", "`/deploy status [env]` — which host runs which revision"),
    ("/deploy", "`/deploy resume [env]` — continue a deploy interrupted between batches"),
    ("/rollback", "`/rollback [env] [rev]` — back to the previous good release, every host"),
    ("/rollback", "`/rollback production 3f2a9c1 confirm` — when it asks to confirm"),
    ("/whys", "`/whys` — where the five whys stands"),
    ("/whys", "`/whys severity minor|major|critical` — how much each investment may cost"),
    ("/whys", "`/whys schedule tomorrow 10:00` — a meeting: the line may start meanwhile"),
    ("/actions", "`/actions` — your open action items; `/actions all` — everyone's"),
    ("/actions", "`/actions done 3` — action item 3 has landed (its *Done* button does the same)"),
    ("/oncall", "`/oncall` — who is on call now and next"),
    ("/oncall", "`/oncall override @someone until fri 18:00` — cover for someone"),
    ("/checks", "`/checks` — each built-in check's last value and state"),
    ("/digest", "`/digest [this|last|2026-W47]` — investments, the line, DORA, pages, CI"),
    ("/flag", "`/flag create new-checkout <description>` — a feature flag, off everywhere"),
    ("/flag", "`/flag on|off <key> [env]` — on for everyone, or off (the kill switch)"),
    ("/flag", "`/flag ramp <key> 30% [env]` — on for 30% of users, the same ones each time"),
    (
        "/flag",
        "`/flag on <key> production fix: <why>` — turn on or ramp up while the line is stopped",
    ),
    ("/flag", "`/flag list` · `/flag show <key>` — each environment's percentage, who set it when"),
)
THREAD = (
    "In a stoppage's thread: `because <answer>` answers the open why (`why 3: …` a given one; "
    "or pin a reply with :pushpin:), `edit 2: <text>` corrects answer 2, `back` reopens the "
    "previous why, `3: <action> @owner due fri #tests` or `3: none: <why>` invests at level 3."
)
_VERBS = {
    "/line": ("stop", "start", "status", "help"),
    "/whys": ("severity", "schedule"),
    "/oncall": ("override",),
    "/deploy": ("status", "resume", "override", "again", "help"),
    "/rollback": ("confirm", "help"),
    "/actions": ("all", "done"),
    "/digest": ("this", "last"),
    "/flag": ("create", "on", "off", "ramp", "list", "show", "help"),
}


def usage(command: str | None = None) -> str:
    """Every command (``None``), or one command's lines and where the rest is."""
    if command is None:
        lines = [f"• {line}" for _, line in LINES]
        return "*Andon* runs the production line:\n" + "\n".join(lines) + f"\n{THREAD}"
    lines = [f"• {line}" for name, line in LINES if name == command]
    return "\n".join(lines) + "\n`/line help` lists every command."


def meant(not_understood: str, *, environments: Collection[str] = ()) -> str | None:
    """``/line stpo`` → ``/line stop``; ``/deploy prodution`` → ``/deploy production``."""
    command, _, text = not_understood.partition(" ")
    words = text.split()
    if not words:
        return None
    known = [*_VERBS.get(command, ()), *(environments if command in _DEPLOYING else ())]
    for index, word in enumerate(words):
        if word in known:
            continue
        close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.7)
        if close:
            fixed = [*words[:index], close[0], *words[index + 1 :]]
            return f"{command} {' '.join(fixed)}"
        if index == 0 and command not in _DEPLOYING:
            return None
    return None


def command_of(not_understood: str) -> str | None:
    """The slash command a help is about, when it is one Andon has."""
    command = not_understood.split(" ", 1)[0]
    return command if any(name == command for name, _ in LINES) else None


_DEPLOYING = ("/deploy", "/rollback")
