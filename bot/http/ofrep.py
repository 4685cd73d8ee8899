"""``POST /ofrep/v1/evaluate/flags/{key}`` and ``POST /ofrep/v1/evaluate/flags``: flags
evaluated by the OpenFeature Remote Evaluation Protocol, so applications ask with OpenFeature's
own SDKs and OFREP provider. Read-only, behind ``ANDON_FLAGS_TOKEN``; the bulk answer carries an
``ETag`` and a matching ``If-None-Match`` gets a ``304`` after one small query."""

import hashlib
import hmac
from typing import Any, NamedTuple

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from bot.andon import Andon
from bot.http import ofrep_json
from bot.http.content_coding import GZIP, accepts_gzip, gzipped
from bot.http.payloads import BadPayloadError, parsed_json
from bot.http.schemas.ofrep import BULK, FLAGS_TOKEN, ONE, REQUEST, SECURED, Evaluation
from core.flags import evaluation, rules
from core.refusal import Refusal

JSON = "application/json"
CLOSED = "closed: ANDON_FLAGS_TOKEN is not set on the server"


class Unevaluable(Exception):  # noqa: N818 - OFREP's word for it is a code, not an error
    """The body or its context cannot be evaluated: OFREP's 400, with its code."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


def router(andon: Andon, *, token: str | None) -> APIRouter:
    """Both evaluations, each checking the token before it reads a byte of the body."""
    ofrep = APIRouter(prefix="/ofrep/v1", tags=["flags"])
    known = _Known()  # this database's flags: one per app, as one app serves one database

    @ofrep.post(
        "/evaluate/flags/{key}",
        response_model=Evaluation,
        responses=ONE,
        openapi_extra={**REQUEST, **SECURED},
    )
    async def evaluate_flag(key: str, request: Request) -> Response:
        """One flag for one context (OFREP's server-side providers ask this)."""
        refused = _refused(request, token)
        if refused is not None:
            return refused
        raw = await request.body()
        return await run_in_threadpool(_one, andon, key, raw)

    @ofrep.post("/evaluate/flags", responses=BULK, openapi_extra={**REQUEST, **SECURED})
    async def evaluate_flags(request: Request) -> Response:
        """Every flag for one context (OFREP's client-side providers ask this, then poll with
        ``If-None-Match``)."""
        refused = _refused(request, token)
        if refused is not None:
            return refused
        raw = await request.body()
        asked = _Asked(
            request.headers.get("if-none-match"),
            accepts_gzip(request.headers.get("accept-encoding")),
        )
        read = await run_in_threadpool(_bulk, andon, known, raw, asked)
        return read if isinstance(read, Response) else _answer(read, asked)

    return ofrep


def documented(app: FastAPI) -> None:
    """Declare ANDON_FLAGS_TOKEN's scheme in the app's OpenAPI document: the endpoints check
    the token themselves, because resolving a FastAPI security dependency for it cost a 304 a
    tenth of its CPU (bench/README.md, flags)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemes = plain().setdefault("components", {}).setdefault("securitySchemes", {})
            scheme = FLAGS_TOKEN.model.model_dump(mode="json", by_alias=True, exclude_none=True)
            schemes[FLAGS_TOKEN.scheme_name] = scheme
        return app.openapi_schema or plain()

    app.openapi = openapi  # type: ignore[method-assign]


def _refused(request: Request, token: str | None) -> Response | None:
    """401 unless the bearer token is ANDON_FLAGS_TOKEN; the body in OFREP's error shape, so
    every provider reads it as a general error."""
    if not token:
        return _unauthorised(CLOSED)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return _unauthorised("missing or wrong token (ANDON_FLAGS_TOKEN)")


def _unauthorised(details: str) -> Response:
    body = {"errorCode": "GENERAL", "errorDetails": details}
    return JSONResponse(body, 401, {"WWW-Authenticate": "Bearer"})


def _one(andon: Andon, key: str, raw: bytes) -> Response:
    try:
        environment, targeting_key = _context(andon, raw)
    except Unevaluable as bad:
        return JSONResponse({"key": key, "errorCode": bad.code, "errorDetails": bad.details}, 400)
    percentage = None
    if rules.KEY.fullmatch(key):
        with andon.database.engine.connect() as connection:
            percentage = evaluation.percentage_of(connection, key=key, environment=environment)
    if percentage is None:
        details = f"There is no flag {key[:80]!r}."
        return JSONResponse(
            {"key": key, "errorCode": "FLAG_NOT_FOUND", "errorDetails": details}, 404
        )
    found = evaluation.evaluated(
        key, percentage=percentage, environment=environment, targeting_key=targeting_key
    )
    return Response(ofrep_json.written(found).encode(), media_type=JSON)


class _Asked(NamedTuple):
    """What of a bulk request's headers its answer depends on."""

    matched: str | None  # If-None-Match
    gzip: bool  # Accept-Encoding takes gzip


class _Read(NamedTuple):
    """What a bulk answer is made of, read from the database."""

    found: list[tuple[str, int]]
    environment: str
    targeting_key: str | None
    tag: str


def _bulk(andon: Andon, known: "_Known", raw: bytes, asked: _Asked) -> Response | _Read:
    """In the thread pool, what needs the database: an error, the 304, or the flags."""
    try:
        environment, targeting_key = _context(andon, raw)
    except Unevaluable as bad:
        return JSONResponse({"errorCode": bad.code, "errorDetails": bad.details}, 400)
    with andon.database.engine.connect() as connection:
        version = evaluation.version(connection)
        tag = _etag(version, environment, targeting_key)
        if asked.matched is not None and _matches(asked.matched, tag):
            sent = _coded(tag) if asked.gzip else tag
            return Response(status_code=304, headers={"ETag": sent, "Vary": "Accept-Encoding"})
        found = known.percentages(connection, environment=environment, version=version)
    return _Read(found, environment, targeting_key, tag)


class _Known:
    """Every flag's percentage per environment, as of a version, read again only once the
    version has moved (creating or moving a flag moves it in the same transaction): the version
    is one row, the flags a hundred, and in a thread pool SQLite hands the interpreter's lock
    back and forth for every row it steps through."""

    def __init__(self) -> None:
        self._by_environment: dict[str, tuple[int, list[tuple[str, int]]]] = {}

    def percentages(
        self, connection: Connection, *, environment: str, version: int
    ) -> list[tuple[str, int]]:
        known = self._by_environment.get(environment)
        if known is not None and known[0] == version:
            return known[1]
        found = evaluation.percentages(connection, environment=environment)
        self._by_environment[environment] = (version, found)
        return found


def _answer(read: _Read, asked: _Asked) -> Response:
    """On the event loop, the answer written: pure CPU, which in one of forty threads contending
    for the interpreter's lock cost three times what it costs here (bench/README.md, flags)."""
    body = ofrep_json.every(
        read.found, environment=read.environment, targeting_key=read.targeting_key
    )
    headers = {"ETag": _coded(read.tag) if asked.gzip else read.tag, "Vary": "Accept-Encoding"}
    if asked.gzip:
        body, headers["Content-Encoding"] = gzipped(body), GZIP
    return Response(body, media_type=JSON, headers=headers)


def _context(andon: Andon, raw: bytes) -> tuple[str, str | None]:
    """The environment and targeting key a body's context names — or OFREP's error code."""
    try:
        body = parsed_json(raw) if raw.strip() else {}
    except BadPayloadError as bad:
        raise Unevaluable("PARSE_ERROR", bad.detail) from bad
    if not isinstance(body, dict):
        raise Unevaluable("PARSE_ERROR", "the body is not a JSON object")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise Unevaluable("INVALID_CONTEXT", "`context` is not an object")
    targeting_key = context.get("targetingKey")
    if targeting_key is not None and not isinstance(targeting_key, str):
        raise Unevaluable("INVALID_CONTEXT", "`targetingKey` is not a string")
    named = context.get("environment")
    if named is not None and not isinstance(named, str):
        raise Unevaluable("INVALID_CONTEXT", "`environment` is not a string")
    environment = rules.environment_named(andon.config, named)
    if isinstance(environment, Refusal):
        raise Unevaluable("INVALID_CONTEXT", environment.reason)
    return environment, targeting_key or None


def _etag(version: int, environment: str, targeting_key: str | None) -> str:
    """The answer's name: the flags' version and what of the context the answer depends on."""
    said = f"{version}:{environment}:{targeting_key}".encode()
    return f'"{hashlib.sha256(said).hexdigest()[:32]}"'


def _coded(tag: str) -> str:
    """The gzip-coded answer's own tag (a strong tag names one representation): the same
    answer's, marked, as web servers mark theirs."""
    return f'{tag[:-1]}-{GZIP}"'


def _matches(header: str, tag: str) -> bool:
    """``If-None-Match``: ``*``, or a list of tags, weak ones (``W/``) compared weakly; the
    gzip-coded answer's tag names the same answer."""
    given = [part.strip().removeprefix("W/") for part in header.split(",")]
    return "*" in given or tag in given or _coded(tag) in given
