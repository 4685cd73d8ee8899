"""A refusal is an answer, not an error: the front shows its sentence to the person who asked."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Refusal:
    reason: str
    # Which rule refused (``line_runs``…), when known: a sentence may change as time passes
    # ("baked for 5 min") while the rule stays — what a repeated refusal is compared by.
    rule: str = field(default="", compare=False)
