"""``POST /api/gate``: the commit check the git hook asks (shape in docs/gate.md)."""

import email.message
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http.payloads import BadPayloadError, parsed_json, storable_text
from bot.http.schemas.gate import REFUSED, GateAnswer
from bot.http.schemas.problems import API_TOKEN, UNAUTHORISED
from core.gate.push import BadPushError, Push, read

# Every text is checked again where the model is built without the edge (tests, the CLI).
Text = Annotated[str, StringConstraints(max_length=1000), AfterValidator(storable_text)]


class RefBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    old: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    new: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    ref: Annotated[str, StringConstraints(pattern=r"^refs/\S+$", max_length=255)]
    # ``new`` does not contain ``old`` (the hook asks ``git merge-base --is-ancestor``); absent
    # (older hooks): not known, and the update is judged as a plain one.
    forced: StrictBool | None = None


class CommitBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sha: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    subject: Text = ""
    author: Text = ""
    trailers: dict[Text, Text | list[Text]] = Field(default_factory=dict)
    paths: list[
        Annotated[str, StringConstraints(max_length=4096), AfterValidator(storable_text)]
    ] = Field(default_factory=list)
    # The refs the commit arrives with; absent (older hooks): it counts for every ref pushed.
    refs: list[Annotated[str, StringConstraints(max_length=255), AfterValidator(storable_text)]] = (
        Field(default_factory=list)
    )


Pusher = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class UncheckedBody(BaseModel):
    """A push an earlier hook let through unchecked (``fail_open``): Andon tells the channel."""

    model_config = ConfigDict(extra="ignore")
    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    at: datetime
    pusher: Pusher
    refs: list[RefBody] = Field(min_length=1, max_length=1000)
    reason: Text = ""


class GateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refs: list[RefBody] = Field(min_length=1, max_length=1000)
    commits: list[CommitBody] = Field(default_factory=list, max_length=10_000)
    push_options: list[Text] = Field(default_factory=list, max_length=100)
    pusher: Pusher = "unknown"
    unchecked: list[UncheckedBody] = Field(default_factory=list, max_length=100)

    def push(self) -> Push:
        """The ``Push`` the commit check decides on, from core's one reader — the one the hook's
        database path reads its body with, so the two doors cannot differ in what a push is."""
        return read(self.model_dump())


def router(andon: Andon, *, authorised: Callable[[Request], None]) -> APIRouter:
    class AuthorisedFirst(APIRoute):
        """FastAPI reads the JSON body before any dependency runs: without the token, a stranger
        would learn from a 422 what a push looks like. The token is checked before the body,
        and the body is parsed here, in the thread pool and bounded in depth and text."""

        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def checked(request: Request) -> Response:
                authorised(request)
                raw = await request.body()
                if raw and _is_json(request.headers.get("content-type")):
                    try:
                        parsed = await run_in_threadpool(parsed_json, raw)
                    except BadPayloadError as bad:
                        return JSONResponse(bad.answer(), status_code=bad.status)
                    request._json = parsed  # what Starlette's ``Request.json()`` hands FastAPI
                return await handler(request)

            return checked

    gate = APIRouter(
        prefix="/api",
        tags=["gate"],
        dependencies=[Depends(authorised), Security(API_TOKEN)],
        responses={**UNAUTHORISED, **REFUSED},
        route_class=AuthorisedFirst,
    )

    @gate.post("/gate", response_model=GateAnswer)
    async def check_push(body: GateBody) -> Any:
        """``{"allow": true|false, "message": "...", "unchecked": n}``: what the hook tells the
        pusher, and how many of the unchecked pushes it sent along were taken in."""
        try:
            push = body.push()
        except BadPushError as bad:
            return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)
        answer = await run_in_threadpool(andon.check_push, push)
        # "unchecked": how many unchecked pushes were taken in (told once), so the hook may forget
        # them — a hook newer than this server keeps them when the key is missing.
        return {"allow": answer.allow, "message": answer.message, "unchecked": len(push.unchecked)}

    return gate


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read the body as JSON (as ``fastapi.routing`` decides it)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
