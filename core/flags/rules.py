"""What a flag command may name: a key, an environment, a percentage — each refused in words."""

import re

from core.config.file import AndonConfig
from core.refusal import Refusal

KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DEFAULT_ENVIRONMENT = "production"  # where flags live when andon.toml names no environments
MAX_DESCRIPTION = 500


def key_refusal(key: str) -> Refusal | None:
    """A key applications can spell in any language and a URL can carry as it is."""
    if KEY.fullmatch(key):
        return None
    shown = key[:70] + ("…" if len(key) > 70 else "")
    return Refusal(
        f"{shown!r} is not a flag key: 1 to 64 characters, lowercase letters, digits, "
        "`.`, `_` and `-`, starting with a letter or a digit (e.g. `new-checkout`).",
        rule="flag_key",
    )


def environments(config: AndonConfig) -> tuple[str, ...]:
    """The environments flags live in: andon.toml's, or one called ``production``."""
    return tuple(config.environments) or (DEFAULT_ENVIRONMENT,)


def environment_named(config: AndonConfig, name: str | None) -> str | Refusal:
    """The environment a flag command or an evaluation means: the one named, else the only
    one, else ``production`` when there is one."""
    names = environments(config)
    if name is None:
        if len(names) == 1:
            return names[0]
        if DEFAULT_ENVIRONMENT in names:
            return DEFAULT_ENVIRONMENT
        return Refusal(f"Which environment? Name one of: {', '.join(names)}.", rule="flag_env")
    if name not in names:
        shown = name[:60]
        return Refusal(
            f"{shown!r} is not an environment; flags live in: {', '.join(names)}.",
            rule="flag_env",
        )
    return name


def percentage(spelled: str) -> int | Refusal:
    """``30%`` or ``30``: a whole number from 0 to 100."""
    digits = spelled.strip().removesuffix("%")
    if digits.isascii() and digits.isdigit() and int(digits) <= 100:
        return int(digits)
    shown = spelled[:20]
    return Refusal(
        f"{shown!r} is not a percentage: give a whole number from 0 to 100, e.g. `30%`.",
        rule="flag_percentage",
    )
