"""A notice that is only its text, and its rendering: what the courier's tests queue, so they
speak of delivery, not of any message's looks."""

from core.notifier import Notice


class Said(Notice):
    def __init__(self, text: str) -> None:
        self.text = text


def render(notice: Notice) -> dict:
    assert isinstance(notice, Said)
    return {"text": notice.text, "blocks": []}
