"""A notification that is no alert (an acknowledgement, a flapping notice) is answered, not
refused: the sender would otherwise retry it forever."""

from core.alerts.event import AlertEvent


class Ignored(list[AlertEvent]):
    """No alerts, and why: the 202 and the audit row say it to whoever set the sender up."""

    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why


class Tested(Ignored):
    """A sender's test notification (Grafana's *Test* button): no alert, but the channel hears
    that the sender reached Andon — whoever pressed it is looking."""

    def __init__(self, sender: str) -> None:
        super().__init__(f"{sender}'s test notification: said in the channel, not paged")
        self.sender = sender
