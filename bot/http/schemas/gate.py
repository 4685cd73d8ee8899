"""``POST /api/gate``: what the git hook is told, and how a push it sent is refused."""

from typing import Any

from pydantic import BaseModel

from bot.http.schemas.problems import FieldProblem


class GateAnswer(BaseModel):
    """Whether the push may land, what the hook tells the pusher, and how many of the unchecked
    pushes it sent along were taken in (told once, so the hook may forget them)."""

    allow: bool
    message: str
    unchecked: int


REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": FieldProblem, "description": "The body is not JSON, or nested too deep."},
    422: {
        "description": "A field of the push is wrong: FastAPI's list of fields, or one field.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/HTTPValidationError"},
                        {"$ref": "#/components/schemas/FieldProblem"},
                    ]
                }
            }
        },
    },
}
