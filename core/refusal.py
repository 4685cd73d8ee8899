"""A refusal is an answer, not an error: the front shows its sentence to the person who asked."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    reason: str
