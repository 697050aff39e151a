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

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


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

    for exc_type, status in (status_for or {}).items():
        app.add_exception_handler(exc_type, _domain_handler(status))


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
