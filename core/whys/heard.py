"""What a reply in a stoppage's thread did to its five whys."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Heard:
    """``None`` of everything when it was not for the analysis (chatter, a bot, a closed one)."""

    answered: int | None = None
    edited: int | None = None
    invested: tuple[int, ...] = ()
    done: bool = False
    early: tuple[int, ...] = ()  # investments noted for levels whose why is still to come
