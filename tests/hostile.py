"""Hostile domain objects for the renderers: any dataclass ``core`` announces, built from its type
hints, with every string one an attacker or a very long day could produce.

Strings mix Slack markup (broadcasts, links that close early, mentions), mrkdwn's special
characters and sheer length; lists are long (500 hosts, 300 failing tests, 100 action items)
without drawing hundreds of items one by one: a few are drawn and repeated.
"""

import dataclasses
import enum
import string
import types
import typing
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from core.actor import Actor
from core.gate.push import RefUpdate
from storage.tables import CiResult

HOSTILE = (
    "<!channel>",
    "<!here> wake up",
    "<!everyone>",
    "<!subteam^S0123ABC|@oncall-team>",
    "@channel",
    "<https://evil.example|the run>",
    "https://ci.example/x|re-auth here> <!channel",
    "p99 > 2s & errors < 1%",
    "<@U0BADBAD> and <#C0LINE001|line>",
    "&amp; &lt;b&gt; &#60;",
    "a|b>c<d",
    "```code``` *bold* _it_ ~gone~ `tick",
    "line one\nline two\n\n> quoted",
    "\u202eevil\u200b\x00\x1b[31m",
    "Ünïcødé 雪 😀 " * 3,
)
_ALPHABET = string.ascii_letters + string.digits + "<>&|!@#*_~`:.-/ \n" + "éü雪😀"
_SHA = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
_URLS = st.one_of(
    st.sampled_from(
        (
            "https://ci.example/runs/42",
            "http://grafana.internal/d/abc?from=now-1h&to=now",
            "https://ci.example/x|re-auth here> <!channel",
            "javascript:alert(1)",
            "https://ci.example/" + "a" * 3100,
            "",
        )
    ),
    st.text(alphabet=_ALPHABET, max_size=80),
)
_SLACK_ID = st.from_regex(r"U0[A-Z0-9]{6}", fullmatch=True)
_LONG = {  # how long a list can be, by field name; others up to 60
    "hosts": 500,
    "failures": 300,
    "failed_tests": 300,
    "causes": 50,
    "items": 100,
    "commits": 200,
    "suspects": 12,
    "answers": 5,
    "overdue": 40,
}


def text() -> st.SearchStrategy[str]:
    """Short and hostile, or as long as a reason, an answer or an error can be."""
    piece = st.one_of(st.sampled_from(HOSTILE), st.text(alphabet=_ALPHABET, max_size=60))
    repeated = st.builds(lambda p, n: (p * n)[:6000], piece, st.integers(1, 400))
    return st.one_of(piece, repeated, st.lists(piece, max_size=8).map("".join))


def actor() -> st.SearchStrategy[Actor]:
    ident = st.one_of(_SLACK_ID, text())
    via = st.sampled_from(("slack", "cli", "terminal", "ci", "alert", "http", "git"))
    return st.builds(Actor, id=ident, name=text(), via=via)


def of(kind: Any, name: str = "") -> st.SearchStrategy[Any]:
    """A strategy for one type hint; ``name`` (the field's) picks shas, urls and list sizes."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(of(arg, name) for arg in args))
    if kind is type(None):
        return st.none()
    if origin is tuple:
        return _sequence(args, name).map(tuple)
    if origin is list:
        return _sequence((args[0], ...), name)
    if origin is dict:
        return st.dictionaries(of(args[0]), of(args[1]), max_size=5)
    return _plain(kind, name)


def _plain(kind: Any, name: str) -> st.SearchStrategy[Any]:
    if kind is str:
        return _string(name)
    if kind is Actor:
        return actor()
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(0, 10**6)
    if kind is float:
        return st.floats(0, 1e6, allow_nan=False)
    if kind is datetime:
        return st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))
    if kind is date:
        return st.dates(date(2024, 1, 1), date(2030, 1, 1))
    if kind is timedelta:
        return st.timedeltas(timedelta(0), timedelta(days=400))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if kind is RefUpdate:
        return _ref_update()
    if dataclasses.is_dataclass(kind):
        return built(kind)
    if kind is CiResult:
        return _ci_result()
    raise TypeError(f"no hostile strategy for {kind!r}")


def built(cls: type) -> st.SearchStrategy[Any]:
    """Any instance of a ``core`` dataclass, every field hostile."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: of(hints[f.name], f.name) for f in dataclasses.fields(cls) if f.init}
    return st.builds(cls, **fields)


def _string(name: str) -> st.SearchStrategy[str]:
    if name in ("revision", "previous_revision", "runs", "recorded", "sha"):
        return _SHA
    if name.endswith("url") or name == "thread_link":
        return _URLS
    if name in ("oncall", "owner", "user", "next_user", "author_user"):
        return st.one_of(_SLACK_ID, text())
    if name == "due":
        return st.dates(date(2024, 1, 1), date(2030, 1, 1)).map(date.isoformat)
    if name == "pipeline":
        return st.text(alphabet=_ALPHABET, min_size=1, max_size=100).filter(str.strip)
    if name in ("branch", "run_id", "author_name", "author_email", "label"):
        return text().map(lambda s: s[:255])
    return text()


def _ref_update() -> st.SearchStrategy[RefUpdate]:
    """A ref move git would describe: object ids are hex, the ref a name git accepts (hostile
    markup included, as git allows ``<``, ``>``, ``|``, ``&``, ``!`` and ``@`` in names)."""
    part = st.text(alphabet=string.ascii_letters + string.digits + "<>|&!@#-_", min_size=1)
    name = st.lists(part.map(lambda s: s[:60]), min_size=1, max_size=4).map("/".join)
    ref = st.one_of(st.just("refs/heads/<!channel>"), name.map("refs/heads/".__add__))
    return st.builds(RefUpdate, old=_SHA, new=_SHA, ref=ref)


def _ci_result() -> st.SearchStrategy[CiResult]:
    """A stored CI result (a table row, not a dataclass), as ``/ci`` shows it."""
    test = st.fixed_dictionaries({"name": text(), "message": text()})
    return st.builds(
        CiResult,
        provider=text(),
        revision=_SHA,
        branch=text(),
        pipeline=_string("pipeline"),
        run_id=text(),
        status=st.sampled_from(("passed", "failed", "running")),
        url=_URLS,
        duration_s=st.none() | st.floats(0, 1e6),
        failed_tests=_sequence((test, ...), "failed_tests"),
    )


def _sequence(args: tuple[Any, ...], name: str) -> st.SearchStrategy[list[Any]]:
    """A few items drawn, then repeated up to the field's length: long lists stay cheap."""
    if len(args) == 2 and args[1] is Ellipsis:
        element = args[0] if isinstance(args[0], st.SearchStrategy) else of(args[0], name)
        cap = _LONG.get(name, 60)
        return st.builds(_repeat, st.lists(element, max_size=3), st.integers(0, cap))
    return st.tuples(*(of(arg, name) for arg in args)).map(list)


def _repeat(items: list[Any], count: int) -> list[Any]:
    return [items[i % len(items)] for i in range(count)] if items else []
