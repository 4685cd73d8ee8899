"""``/ofrep/v1/*``: the OpenFeature Remote Evaluation Protocol's shapes, as its specification
(open-feature/protocol, service/openapi.yaml) names them, for the flags Andon keeps."""

from typing import Any, Literal

from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

# The scheme /openapi.json declares (``bot.http.ofrep.documented``); ``bot.http.ofrep`` checks
# the token itself, so no FastAPI dependency is resolved for it on every evaluation.
FLAGS_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="ANDON_FLAGS_TOKEN",
    description="`Authorization: Bearer $ANDON_FLAGS_TOKEN`: read-only, for flag evaluation.",
)

Reason = Literal["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED"]
FailureCode = Literal["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"]


class Evaluation(BaseModel):
    """A flag evaluated: ``true`` with variant ``on``, or ``false`` with ``off``, and why."""

    key: str
    value: bool
    reason: Reason
    variant: Literal["on", "off"]
    metadata: dict[str, str | int] = Field(
        description="`environment` evaluated in, and the flag's `percentage` there"
    )


class EvaluationFailure(BaseModel):
    """The request could not be evaluated: the context or the body is wrong."""

    key: str
    errorCode: FailureCode  # noqa: N815 - OFREP's name
    errorDetails: str  # noqa: N815


class FlagNotFound(BaseModel):
    key: str
    errorCode: Literal["FLAG_NOT_FOUND"]  # noqa: N815
    errorDetails: str  # noqa: N815


class BulkEvaluation(BaseModel):
    """Every flag, evaluated for one context (the environment's, by key)."""

    flags: list[Evaluation]


class BulkFailure(BaseModel):
    errorCode: FailureCode  # noqa: N815
    errorDetails: str  # noqa: N815


# The request body (read by hand: a body that is not JSON is OFREP's PARSE_ERROR, not a 422).
REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "context": {
                            "type": "object",
                            "description": (
                                "`targetingKey` picks the user's bucket (without it, a flag is "
                                "on only at 100%); `environment` picks the environment "
                                "(default: production, or the only one)."
                            ),
                            "properties": {
                                "targetingKey": {"type": "string"},
                                "environment": {"type": "string"},
                            },
                            "additionalProperties": True,
                        }
                    },
                }
            }
        },
    }
}
UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": BulkFailure,
        "description": "No token, a wrong one, or ANDON_FLAGS_TOKEN unset (`GENERAL`).",
    }
}
ONE: dict[int | str, dict[str, Any]] = {
    **UNAUTHORISED,
    400: {"model": EvaluationFailure, "description": "The body or its context is wrong."},
    404: {"model": FlagNotFound, "description": "No flag has this key."},
}
BULK: dict[int | str, dict[str, Any]] = {
    **UNAUTHORISED,
    200: {
        "model": BulkEvaluation,
        "description": "Every flag evaluated; `ETag` names this answer for `If-None-Match`.",
        "headers": {"ETag": {"schema": {"type": "string"}}},
    },
    304: {"description": "`If-None-Match` named the current answer: nothing changed."},
    400: {"model": BulkFailure, "description": "The body or its context is wrong."},
}
SECURED: dict[str, Any] = {"security": [{"ANDON_FLAGS_TOKEN": []}]}
