"""The small value types andon.toml is written in: durations, weekly times, names and refs."""

import re
from datetime import time, timedelta
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from core.durations import parse_duration

# Every config model refuses unknown keys (typos), is immutable, and takes TOML types as written.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"(?P<day>[a-z]+)\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})", re.IGNORECASE)
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_TRAILER = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?\[\\]|\.\.|@\{|//")


def _duration(value: Any) -> timedelta:
    """TOML has no duration type, so durations arrive as text and are checked here."""
    if isinstance(value, timedelta):
        if value <= timedelta():
            raise ValueError("a duration must be longer than zero")
        return value
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _name(value: str) -> str:
    """Names are typed in chat (``/deploy production``), so keep them short and plain."""
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a usable name; use lowercase letters, digits, - and _ "
            "(at most 40, starting with a letter)"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]


def _user_id(value: str) -> str:
    """People are named by Slack user ID; an @name changes when they rename themselves."""
    if value.startswith("@"):
        raise ValueError(f"{value!r} is a display name; write the Slack user ID (U…) instead")
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a Slack user ID (U…)")
    return value


UserId = Annotated[str, AfterValidator(_user_id)]


def _channel(value: str) -> str:
    """A channel ID survives renames; a #name is accepted for small teams."""
    if re.fullmatch(r"[CGD][A-Z0-9]{2,}", value) or re.fullmatch(r"#[a-z0-9][a-z0-9._-]*", value):
        return value
    raise ValueError(f"{value!r} is not a channel; write its ID (C…) or #name")


Channel = Annotated[str, AfterValidator(_channel)]


def ref_name(value: str, *, pattern: bool = False) -> str:
    """A branch or ref the way git accepts it, so a typo is caught before the first push."""
    bad = (
        not value
        or _REF_FORBIDDEN.search(value)
        or (not pattern and "*" in value)
        or value.startswith(("/", "-", "."))
        or value.endswith(("/", ".", ".lock"))
        or "/." in value
    )
    if bad:
        raise ValueError(f"{value!r} is not a git {'ref' if pattern else 'branch'} name")
    return value


Branch = Annotated[str, AfterValidator(ref_name)]


def _protected_ref(value: str) -> str:
    """Accept ``main`` as shorthand for ``refs/heads/main``; globs such as ``release/*`` too."""
    ref_name(value, pattern=True)
    return value if value.startswith("refs/") else f"refs/heads/{value}"


ProtectedRef = Annotated[str, AfterValidator(_protected_ref)]


def _trailer(value: str) -> str:
    """A git trailer key is one word, so it can be read back from the commit message."""
    if not _TRAILER.fullmatch(value):
        raise ValueError(f"{value!r} is not a trailer key; write one word such as Line-Fix")
    return value


TrailerKey = Annotated[str, AfterValidator(_trailer)]


def _time_zone(value: str) -> str:
    """A misspelt zone would silently mean UTC elsewhere; here it is an error."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; write e.g. UTC or Europe/Berlin") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_time_zone)]


def _http_url(value: str) -> str:
    """Only HTTP(S) URLs are fetched; a ``{host}`` placeholder is filled in per host."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    try:
        value.format(host="h", port=22, user="u")
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"{value!r} has an unknown placeholder; use {{host}}, {{port}} or {{user}}"
        ) from None
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]

PER_HOST = ("{host}", "{port}", "{user}")


def per_host(url: str | None) -> bool:
    """A URL with ``{host}``, ``{port}`` or ``{user}`` names one host's copy of a metric."""
    return url is not None and any(mark in url for mark in PER_HOST)


def _percent(value: Any) -> float:
    """``"20%"`` → ``0.2``: a share written as people write it, more than 0%."""
    hint = f"{value!r} is not a percentage; write e.g. '20%'"
    if not isinstance(value, str):
        raise ValueError(hint + " (in quotes)")
    match = re.fullmatch(r"(\d{1,6}(?:\.\d{1,3})?)\s*%", value.strip())
    if match is None:
        raise ValueError(hint)
    share = float(match[1]) / 100
    if share <= 0:
        raise ValueError(f"{value!r} is zero; a percentage here must be more than 0%")
    return share


Percent = Annotated[float, BeforeValidator(_percent)]


def _github_repo(value: str) -> str:
    """``owner/name`` as GitHub spells a repository: a typo would send every deploy nowhere."""
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}", value):
        raise ValueError(f"{value!r} is not a GitHub repository; write owner/name")
    return value


GitHubRepo = Annotated[str, AfterValidator(_github_repo)]


def _gitlab_project(value: str) -> str:
    """A GitLab project by its path (``group/subgroup/project``) or its numeric id."""
    segment = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
    if not re.fullmatch(rf"[1-9][0-9]*|{segment}(?:/{segment})+", value):
        raise ValueError(
            f"{value!r} is not a GitLab project; write group/project or the project's id"
        )
    return value


GitLabProject = Annotated[str, AfterValidator(_gitlab_project)]


class Weekly(BaseModel):
    """A weekly moment such as ``mon 09:00`` (on-call handoff, digest)."""

    model_config = STRICT
    DAYS: ClassVar[tuple[str, ...]] = _DAYS

    weekday: int = Field(ge=0, le=6)  # 0 is Monday, as in datetime.weekday()
    at: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        hint = f"{value!r} is not a weekly time; write e.g. 'mon 09:00'"
        match = _WEEKLY.fullmatch(value.strip())
        if match is None:
            raise ValueError(hint)
        day = match["day"].lower()
        weekday = next((i for i, d in enumerate(_DAYS) if day in (d, _full_day(i))), None)
        hour, minute = int(match["hour"]), int(match["minute"])
        if weekday is None or hour > 23 or minute > 59:
            raise ValueError(hint)
        return {"weekday": weekday, "at": time(hour, minute)}

    @property
    def day(self) -> str:
        """Three-letter day, the form cron (and APScheduler) understands."""
        return _DAYS[self.weekday]

    def __str__(self) -> str:
        return f"{self.day} {self.at:%H:%M}"


def _full_day(index: int) -> str:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[index]


MONDAY_9AM = Weekly(weekday=0, at=time(9, 0))
