"""What a check sees: a number in a JSON document, a Prometheus query, or the hosts themselves.

Every way of looking ends in one ``Reading`` or one ``CheckError`` whose sentence says what could
not be seen — the judge treats a failure as out of bounds, because a check that cannot see is not
a green check. Messages name URLs without their user and password, and never the response body.
Endpoints are asked through the ``MetricReader`` port (``core/checks/metric_reader.py``), hosts
through their ``Transport``.
"""

import math
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.checks import stats
from core.checks.metric_reader import Answer, MetricReader, UnreachableError
from core.config.alerts import Check
from core.config.hosts import Environment, Host
from core.config.values import per_host
from core.deploy.transport import HostError, Transport

MAX_HOSTS_AT_ONCE = 20
_SHOWN_TEXT = 160  # characters of a foreign message (Prometheus' error, a value) worth quoting
_INDEX = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Reading:
    """One number, and where it was worst when several places were looked at (a host, a series)."""

    value: float
    where: str | None = None


class CheckError(Exception):
    """The metric could not be seen; the message is a sentence naming what failed."""


def read(
    check: Check,
    *,
    metrics: MetricReader,
    transport_for: Callable[[str], Transport],
    environments: Mapping[str, Environment] | None = None,
    timeout: float = 10,
) -> Reading:
    """Look at the metric once, the way the check says; raises ``CheckError`` when it cannot."""
    if per_host(check.url):
        return _from_each_host(check, metrics, environments or {}, timeout)
    if check.url is not None:
        return _from_json(metrics, check.url, check.json_path, timeout)
    if check.prometheus_url is not None and check.query is not None:
        return _from_prometheus(metrics, check, check.prometheus_url, check.query, timeout)
    return _from_hosts(check, transport_for, environments or {}, timeout)


def read_host(check: Check, host: Host, *, metrics: MetricReader, timeout: float = 10) -> Reading:
    """One host's copy of a metric whose URL holds ``{host}`` (``{port}``, ``{user}``)."""
    assert check.url is not None
    url = check.url.format(host=host.host, port=host.port, user=host.user or "")
    return Reading(_from_json(metrics, url, check.json_path, timeout).value, host.address)


def _from_each_host(
    check: Check,
    metrics: MetricReader,
    environments: Mapping[str, Environment],
    timeout: float,
) -> Reading:
    """Polled, a per-host metric is read on every host of the environments that watch it."""
    hosts = [h for env in environments.values() if check.name in env.watch for h in env.hosts]
    if not hosts:
        raise CheckError(f"no environment watches {check.name}, so it has no hosts to read")
    ask = partial(_ask_endpoint, metrics, check, timeout)
    with ThreadPoolExecutor(max_workers=min(len(hosts), MAX_HOSTS_AT_ONCE)) as pool:
        found = list(pool.map(ask, hosts))
    return _worst_or_failed(check, found)


def _ask_endpoint(
    metrics: MetricReader, check: Check, timeout: float, host: Host
) -> Reading | CheckError:
    try:
        return read_host(check, host, metrics=metrics, timeout=timeout)
    except CheckError as error:
        return error


def worst(check: Check, found: Sequence[Reading]) -> Reading:
    """The reading furthest past the bounds — or, when all are within, the nearest to crossing.

    With only ``min`` that is the lowest, with only ``max`` the highest.
    """
    return max(found, key=lambda reading: beyond(check, reading.value))


def beyond(check: Check, value: float) -> float:
    """How far past its bounds a value lies; zero or less while within them."""
    past = [check.min - value] if check.min is not None else []
    if check.max is not None:
        past.append(value - check.max)
    return max(past)


def public_url(url: str) -> str:
    """A URL as chat may show it: without the user and password a metric URL may carry."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# --- a JSON document -----------------------------------------------------------------------


def _from_json(metrics: MetricReader, url: str, json_path: str | None, timeout: float) -> Reading:
    shown = public_url(url)
    answer = _get(metrics, url, params=None, timeout=timeout, shown=shown)
    if not answer.ok:
        raise CheckError(f"{shown} answered HTTP {answer.status}")
    document = _json(answer, shown)
    found = _follow(document, json_path, shown) if json_path else document
    return Reading(_defined(_number(found, f"{json_path or 'the answer'} of {shown}"), shown))


def _follow(document: Any, json_path: str, shown: str) -> Any:
    """``a.b.0``: keys into objects, indexes into lists, as people read the document."""
    here = document
    steps = json_path.split(".")
    for depth, step in enumerate(steps):
        walked = ".".join(steps[: depth + 1])
        if isinstance(here, dict) and step in here:
            here = here[step]
        elif (
            isinstance(here, list)
            and _INDEX.fullmatch(step)
            and -len(here) <= int(step) < len(here)
        ):
            here = here[int(step)]
        elif isinstance(here, list):
            raise CheckError(f"{shown} has no {walked}: a list of {len(here)} is there")
        elif isinstance(here, dict):
            raise CheckError(f"{shown} has no {walked}")
        else:
            raise CheckError(f"{shown} has no {walked}: {_kind(here)} is there")
    return here


# --- a Prometheus instant query ------------------------------------------------------------


def _from_prometheus(
    metrics: MetricReader, check: Check, base: str, query: str, timeout: float
) -> Reading:
    shown = public_url(base)
    url = f"{base.rstrip('/')}/api/v1/query"
    answer = _get(metrics, url, params={"query": query}, timeout=timeout, shown=shown)
    body = _json(answer, shown) if answer.ok or _says_json(answer) else None
    if isinstance(body, dict) and body.get("status") == "error":
        said = _clip(str(body.get("error") or body.get("errorType") or "no reason given"))
        raise CheckError(f"Prometheus at {shown} refused the query: {said}")
    if not answer.ok:
        raise CheckError(f"{shown} answered HTTP {answer.status}")
    data = body.get("data") if isinstance(body, dict) and body.get("status") == "success" else None
    if not isinstance(data, dict):
        raise CheckError(f"{shown} did not answer as Prometheus does")
    kind = data.get("resultType")
    if kind == "scalar":
        return Reading(_defined(_sample(data.get("result"), shown), shown))
    if kind == "vector":
        return _worst_series(check, data.get("result"), shown)
    raise CheckError(f"the query answered a {kind}; a check needs an instant vector or a scalar")


def _worst_series(check: Check, result: Any, shown: str) -> Reading:
    if not isinstance(result, list):
        raise CheckError(f"{shown} did not answer as Prometheus does")
    if not result:
        raise CheckError(f"no data: the query matched no series at {shown}")
    found = [
        Reading(_sample(series.get("value"), shown), _labels(series.get("metric")))
        for series in result
        if isinstance(series, dict)
    ]
    seen = [reading for reading in found if not math.isnan(reading.value)]
    if not seen:
        raise CheckError(f"no data: every series the query matched at {shown} is NaN")
    return worst(check, seen)


def _sample(pair: Any, shown: str) -> float:
    """Prometheus sends a sample as ``[timestamp, "value"]``."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise CheckError(f"{shown} did not answer as Prometheus does")
    return _number(pair[1], f"a sample from {shown}")


def _labels(metric: Any) -> str | None:
    """``up{instance="web2:9100", job="node"}``, as Prometheus itself writes a series."""
    if not isinstance(metric, dict) or not metric:
        return None
    name = str(metric.get("__name__", ""))
    rest = ", ".join(
        f'{key}="{value}"' for key, value in sorted(metric.items()) if key != "__name__"
    )
    return f"{name}{{{rest}}}" if rest else name


# --- the hosts of an environment -----------------------------------------------------------


def _from_hosts(
    check: Check,
    transport_for: Callable[[str], Transport],
    environments: Mapping[str, Environment],
    timeout: float,
) -> Reading:
    environment = environments.get(check.environment or "")
    if check.environment is None or check.stat is None or environment is None:
        raise CheckError(f"environment {check.environment!r} is not defined")
    transport = transport_for(check.environment)
    ask = partial(_ask_host, transport, check, timeout)
    with ThreadPoolExecutor(max_workers=min(len(environment.hosts), MAX_HOSTS_AT_ONCE)) as pool:
        found = list(pool.map(ask, environment.hosts))
    return _worst_or_failed(check, found)


def _worst_or_failed(check: Check, found: Sequence[Reading | CheckError]) -> Reading:
    """One dead host is a failed reading, said with how many more failed."""
    failed = [item for item in found if isinstance(item, CheckError)]
    if failed:
        more = f" (and {len(failed) - 1} more host{'s' if len(failed) > 2 else ''})"
        raise CheckError(f"{failed[0]}{more if len(failed) > 1 else ''}")
    return worst(check, [item for item in found if isinstance(item, Reading)])


def _ask_host(
    transport: Transport, check: Check, timeout: float, host: Host
) -> Reading | CheckError:
    """A failure is returned, not raised, so that one dead host does not hide the others."""
    try:
        value = stats.measure(
            transport, host, stat=check.stat or "", mount=check.mount, timeout=timeout
        )
    except HostError as error:
        said = str(error)
        return CheckError(said if host.address in said else f"{host.address}: {said}")
    except ValueError as error:
        return CheckError(f"{host.address}: cannot read {check.stat}: {error}")
    return Reading(value, host.address)


# --- HTTP and numbers ----------------------------------------------------------------------


def _get(
    metrics: MetricReader,
    url: str,
    *,
    params: dict[str, str] | None,
    timeout: float,
    shown: str,
) -> Answer:
    try:
        return metrics(url, params=params, timeout=timeout)
    except UnreachableError as error:
        if error.timed_out:
            raise CheckError(f"{shown} did not answer within {timeout:g} s") from None
        raise CheckError(f"{shown} could not be reached: {error}") from None


def _json(answer: Answer, shown: str) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise CheckError(f"{shown} did not answer JSON") from None


def _says_json(answer: Answer) -> bool:
    return "json" in answer.content_type


def _number(found: Any, what: str) -> float:
    """A number, or text that is one ("41.5"): JSON exporters write both."""
    if isinstance(found, bool) or not isinstance(found, int | float | str):
        raise CheckError(f"{what} is {_kind(found)}, not a number")
    try:
        return float(found)
    except ValueError:
        raise CheckError(f"{what} is {_clip(repr(found))}, not a number") from None


def _defined(value: float, shown: str) -> float:
    """NaN is neither above nor below a bound: let it pass and a broken metric would look green."""
    if math.isnan(value):
        raise CheckError(f"{shown} answered NaN, not a number")
    return value


def _kind(found: Any) -> str:
    if isinstance(found, dict):
        return "an object"
    if isinstance(found, list):
        return "a list"
    if found is None:
        return "null"
    if isinstance(found, bool):
        return str(found).lower()
    return f"a {type(found).__name__}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"
