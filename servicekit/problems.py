"""Errors as RFC 9457 problem details, the one error format of every service."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit import db
from servicekit.loglines import RateLimitedLog

PROBLEM_JSON = "application/problem+json"
# Seconds a client is asked to wait after a 503 for a database that is down or too slow: about what a
# restarting PostgreSQL or a failover takes, and long enough that retrying clients do not pile on it.
DATABASE_RETRY_AFTER = 5

# The body problem_response writes, as its OpenAPI document names it (servicekit.openapi gives it to every
# error response). Open to more members, as RFC 9457 allows extensions.
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One invalid field or parameter and why.",
    "required": ["field", "reason"],
    "properties": {
        "field": {"type": "string", "description": "Dotted path of the field (`partners.0.name`) or the "
                                                   "parameter's name.", "examples": ["summary"]},
        "reason": {"type": "string", "examples": ["String should have at least 1 character"]},
    },
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error as RFC 9457 problem details, the one error format of every service.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "examples": ["https://schuldenlab.nl/problems/409"]},
        "title": {"type": "string", "examples": ["Conflict"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "examples": [409]},
        "detail": {"type": "string", "examples": ["lab Schuldenlab Drechtsteden cannot be formed: ..."]},
        "instance": {"type": "string", "description": "The path that was asked for.",
                     "examples": ["/v1/labs/2b3c4d5e-6f70-4a81-92b3-c4d5e6f7a802/formation"]},
        "conditions": {"type": "array", "items": {"type": "string"},
                       "description": "409: every condition that is not met."},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"},
                   "description": "422: every invalid field or parameter."},
        "error_id": {"type": "string", "format": "uuid",
                     "description": "500: the id of the error, also in the service's log line about it."},
        "checks": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "503 of /health/ready: each check and its state."},
    },
}

log = logging.getLogger(__name__)
# A database outage fails every request alike: a few lines a minute say so, not one per request.
_outage_log = RateLimitedLog(log, per_window=6, window=60.0)


class Problem(Exception):
    """An error the API reports as it is; `conditions` lists each unmet condition of a 409."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 conditions: list[str] | None = None, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.conditions = conditions
        self.errors = errors


def problem_response(request: Request, status: int, detail: str, *, title: str | None = None,
                     headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://schuldenlab.nl/problems/{status}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic errors as `{field, reason}` pairs a person can read."""
    return [{"field": _field_name(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "invalid"))} for e in errors]


def install_problem_handlers(app: FastAPI, status_for: Mapping[type[Exception], int] | None = None) -> None:
    """Every error leaves as problem+json; domain exceptions map to statuses via `status_for`."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, title=exc.title,
                                conditions=exc.conditions, errors=exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem_response(request, 422, f"Invalid input: {summary}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(db.DatabaseUnavailable)
    async def _database_unavailable(request: Request, exc: db.DatabaseUnavailable) -> JSONResponse:
        return database_unavailable(request, exc)

    for exc_type, status in (status_for or {}).items():
        app.add_exception_handler(exc_type, _domain_handler(status))


def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After for a database that is down or too slow (servicekit.db.unavailable says which is).

    Honest and fast: nothing is wrong with the request, and the client may send it again shortly.
    """
    # The reason is the driver's few words (servicekit.db.describe): never a statement or its values.
    _outage_log.log(logging.WARNING, "database unavailable answering %s %s: %s", request.method, request.url.path,
                    db.describe(exc))
    return problem_response(request, 503, "The database is unavailable or too slow at the moment; try again in "
                            f"{DATABASE_RETRY_AFTER} seconds.", headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def _domain_handler(status: int):
    """A domain exception as a problem: `.conditions` (unmet conditions) and `.field`/`.reason`
    (invalid input the domain found) are carried into the body the same way as everywhere else."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        conditions = getattr(exc, "conditions", None)
        field, reason = getattr(exc, "field", None), getattr(exc, "reason", None)
        errors = [{"field": str(field), "reason": str(reason)}] if field and reason else None
        detail = f"Invalid input: {field}: {reason}" if errors and status == 422 else str(exc)
        return problem_response(request, status, detail, conditions=list(conditions) if conditions else None,
                                errors=errors)

    return handler


class UnexpectedErrors:
    """ASGI middleware: an exception no handler took becomes a 500 problem carrying an error id, and the
    same id is in the one ERROR line logged with its traceback.

    Starlette's last resort (ServerErrorMiddleware) would answer text/plain and raise the exception on,
    so the server logs it a second time and drops the connection; ended here, the exception leaves the
    connection open for the client's next request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if db.unavailable(exc) and not started:
                # Raised outside a route (a middleware's own use of the pool), where no handler sees it, or a
                # driver error no unit of work translated. Timeouts and socket errors count: in answering a
                # request the database is the one thing a service waits for.
                await database_unavailable(Request(scope), exc)(scope, receive, send)
                return
            error_id = str(uuid.uuid4())
            # Method and path only: the query string and the body may hold personal data.
            log.error("unexpected error %s answering %s %s", error_id, scope.get("method"), scope.get("path"),
                      exc_info=exc)
            if started:
                raise  # half an answer is out: only the dropped connection can tell the client
            response = problem_response(
                Request(scope), 500, f"An unexpected error occurred; please report error id {error_id}.",
                error_id=error_id)
            await response(scope, receive, send)
