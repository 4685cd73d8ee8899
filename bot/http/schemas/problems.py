"""The refusals of ``/api/*`` as the schema documents them: 401, 404 and 422, with their bodies."""

from typing import Any

from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

# Declares the scheme in /openapi.json (Swagger's *Authorize*); the token is checked by
# ``bot.http.api.bearer``, so this never refuses anything itself.
API_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="ANDON_API_TOKEN",
    description="`Authorization: Bearer $ANDON_API_TOKEN` on every `/api/*` request.",
)


class Problem(BaseModel):
    """Why a request was refused, in a sentence."""

    detail: str = Field(examples=["no stoppage #9999"])


class FieldProblem(BaseModel):
    """A body refused for one of its fields: the sentence and where the field is."""

    detail: str
    field: str | None = Field(None, description="the field, when there is one")


UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "No token, a wrong one, or ANDON_API_TOKEN unset on the server.",
        "headers": {
            "WWW-Authenticate": {
                "description": "`Bearer` when a token was expected (absent when the API is closed)",
                "schema": {"type": "string"},
            }
        },
    }
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such record."}
}
