"""``POST /api/gate``: the commit check the git hook asks (shape in DESIGN.md)."""

import email.message
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http.payloads import BadPayloadError, parsed_json, storable_text
from core.gate.push import BadPushError, Push, PushedCommit, RefUpdate

# Every text is checked again where the model is built without the edge (tests, the CLI).
Text = Annotated[str, StringConstraints(max_length=1000), AfterValidator(storable_text)]


class RefBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    old: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    new: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
    ref: Annotated[str, StringConstraints(pattern=r"^refs/\S+$", max_length=255)]


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


class GateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refs: list[RefBody] = Field(min_length=1, max_length=1000)
    commits: list[CommitBody] = Field(default_factory=list, max_length=10_000)
    push_options: list[Text] = Field(default_factory=list, max_length=100)
    pusher: Annotated[
        str, StringConstraints(min_length=1, max_length=255), AfterValidator(storable_text)
    ] = "unknown"


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

    gate = APIRouter(prefix="/api", dependencies=[Depends(authorised)], route_class=AuthorisedFirst)

    @gate.post("/gate")
    async def check_push(body: GateBody) -> Any:
        """``{"allow": true|false, "message": "..."}``: what the hook tells the pusher."""
        try:
            push = _push(body)
        except BadPushError as bad:
            return JSONResponse({"detail": str(bad), "field": bad.field}, status_code=422)
        answer = await run_in_threadpool(andon.check_push, push)
        return {"allow": answer.allow, "message": answer.message}

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


def _push(body: GateBody) -> Push:
    return Push(
        refs=tuple(RefUpdate(r.old, r.new, r.ref) for r in body.refs),
        commits=tuple(
            PushedCommit(
                sha=c.sha,
                subject=c.subject,
                author=c.author,
                trailers={k: [v] if isinstance(v, str) else v for k, v in c.trailers.items()},
                paths=tuple(c.paths),
                refs=tuple(c.refs),
            )
            for c in body.commits
        ),
        push_options=tuple(body.push_options),
        pusher=body.pusher,
    )
