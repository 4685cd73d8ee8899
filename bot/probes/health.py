"""A health URL asked over HTTP with ``requests``: the adapter of ``core/deploy/health.py``'s
``HealthProbe``."""

import requests

from core.deploy.health import ProbeError


def probe(url: str, *, timeout: float) -> int:
    """One GET: its status for ``core`` to judge, or the kind of failure when none came."""
    try:
        return requests.get(url, timeout=timeout).status_code
    except requests.RequestException as error:
        raise ProbeError(type(error).__name__) from None
