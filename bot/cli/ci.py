"""``andon ci …``: a revision's CI results, and the built-in runner's hook and queue."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings.environment import Settings


def run(settings: Settings, args: argparse.Namespace) -> int:
    match args.ci_command:
        case "status":
            return _status(settings, args)
        case "install":
            from bot.githooks import ci as ci_hook

            return ci_hook.install_command(settings, args.repo)
        case "enqueue":
            from bot.githooks import ci as ci_hook

            return ci_hook.enqueue_command(settings, sys.stdin)
    return 2


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.intent import run_intent
    from bot.intents.typed import ShowCi

    return run_intent(
        settings, ShowCi(args.revision), name=args.name, announce=False, workers=False
    )
