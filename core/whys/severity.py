"""What *proportional* means: the fix must not cost more than the problem."""

from enum import StrEnum


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def budget(self) -> str:
        return {
            Severity.MINOR: "about an hour per level",
            Severity.MAJOR: "about a day per level",
            Severity.CRITICAL: "up to a week per level",
        }[self]


def from_alert(severity: str | None) -> Severity:
    """Alert sources speak their own scales; three steps are enough for a budget."""
    said = (severity or "").lower()
    if said in ("critical", "crit", "fatal", "emergency", "page", "p1"):
        return Severity.CRITICAL
    if said in ("major", "error", "high", "p2"):
        return Severity.MAJOR
    return Severity.MINOR
