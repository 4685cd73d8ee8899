"""What ``/hooks/ci/*`` and ``/hooks/alerts/*`` answer a sender, as the schema documents it
(documentation only: each answer is written by the hook, whose shapes senders already read)."""

from typing import Any

from pydantic import BaseModel, Field, RootModel

from bot.http.schemas.problems import FieldProblem, Problem


class CiRecorded(BaseModel):
    """A CI result recorded, and whether it stopped the line."""

    recorded: int = Field(description="the result's id")
    stopped_line: bool


class Duplicate(BaseModel):
    """A redelivery of a result already recorded: nothing changed."""

    duplicate: bool


class Ignored(BaseModel):
    """An event that is no result or no alert, answered and ignored, and why."""

    ignored: str


class Review(BaseModel):
    """A pull or merge request as the webhook said it."""

    forge: str
    project: str
    number: int
    head_sha: str
    open: bool


class ReviewTracked(BaseModel):
    """A pull or merge request followed, so its head shows the line's commit status."""

    tracked: Review


class AlertsRecorded(BaseModel):
    """What a delivery of alerts did: pages opened, updated, held or unchanged."""

    alerts: int
    paged: int
    updated: int
    held: int
    unchanged: int
    test: str | None = Field(None, description="only for a sender's test notification")


class PagerDutyAccepted(BaseModel):
    """PagerDuty's own answer, so its senders' clients read it."""

    status: str = Field(examples=["success"])
    message: str = Field(examples=["Event processed"])
    dedup_key: str | None = Field(description="the key that resolves it")
    ignored: str | None = Field(None, description="why nothing was recorded, when nothing was")


class CiAnswer(RootModel[CiRecorded | Duplicate]):
    """A result recorded, or a redelivery of one."""


class CiSkipped(RootModel[Ignored | ReviewTracked]):
    """An event that is no result: ignored, or a pull request followed."""


class AlertsSkipped(RootModel[Ignored | PagerDutyAccepted]):
    """Nothing paged (no alert in the body), or PagerDuty's own answer for its senders."""


class PagerDutyAnswer(RootModel[PagerDutyAccepted | AlertsRecorded]):
    """PagerDuty's own answer (or, for a sender's test notification, what was recorded)."""


def refusals(*, unknown: str) -> dict[int | str, dict[str, Any]]:
    """A hook's refusals as the schema documents them; ``unknown`` says what a 404 means."""
    return {
        400: {"model": FieldProblem, "description": "The body is not JSON, or nested too deep."},
        401: {"model": Problem, "description": "A missing or wrong signature, token or key."},
        404: {"model": Problem, "description": unknown},
        422: {"model": FieldProblem, "description": "A field of the body is wrong."},
    }
