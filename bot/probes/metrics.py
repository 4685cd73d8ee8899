"""A check's metric endpoint asked over HTTP with ``requests``: the adapter of
``core/checks/metric_reader.py``."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from core.checks.metric_reader import Answer, UnreachableError


def get(url: str, *, params: Mapping[str, str] | None, timeout: float) -> Answer:
    """One GET; a failure says why in the socket's words, which carry no URL and so no secret."""
    try:
        return _Answer(requests.get(url, params=params, timeout=timeout))
    except requests.Timeout:
        raise UnreachableError("timed out", timed_out=True) from None
    except requests.RequestException as error:
        raise UnreachableError(_cause(error)) from None


@dataclass(frozen=True)
class _Answer:
    response: requests.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def ok(self) -> bool:
        return self.response.ok

    @property
    def content_type(self) -> str:
        return self.response.headers.get("Content-Type", "")

    def json(self) -> Any:
        return self.response.json()


def _cause(error: BaseException) -> str:
    """The socket's own words ("Connection refused"): they carry no URL, so no secret."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        todo += [c for c in (*linked, *current.args) if isinstance(c, BaseException)]
    return type(error).__name__
