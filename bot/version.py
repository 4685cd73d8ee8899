"""Andon's version: written once, in pyproject.toml, and read from the installed package."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

PACKAGE = "andon"


def version() -> str:
    """The version pyproject.toml gave this install, so `andon --version`, the API schema and
    /metrics all name the same one."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(PACKAGE)
    except PackageNotFoundError:  # the sources run without being installed
        return "0+unknown"


class VersionFlag(argparse.Action):
    """``--version``, reading the metadata only when asked: the git hooks start fast."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: Any) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="print Andon's version and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()
