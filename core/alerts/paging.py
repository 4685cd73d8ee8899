"""Alerts become pages: the person on call is DMed, and every page stops the line."""

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertsRecorded:
    """What one delivery did: new pages, pages updated (repeat sends, resolutions), held ones."""

    paged: int = 0
    updated: int = 0
    held: int = 0
    unchanged: int = 0
