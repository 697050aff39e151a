"""A cap on request bodies: a body over the limit is refused with 413 before anything parses it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message

from servicekit.problems import Problem
from servicekit.service import get_runtime

DEFAULT_MAX_BODY_BYTES = 64 * 1024


def max_body_bytes(request: Request) -> int:
    value = get_runtime(request).settings.setting("SCHULDENLAB_CATALOGUE_MAX_BODY_BYTES")
    return int(value) if value else DEFAULT_MAX_BODY_BYTES


def _too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than {limit} bytes")


class LimitedBodyRoute(APIRoute):
    """Reads at most the limit (also for chunked bodies without Content-Length), then hands the body on."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method not in ("POST", "PUT", "PATCH"):
                return await handler(request)
            limit = max_body_bytes(request)
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
            body = bytearray()
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    raise _too_large(limit)
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            return await handler(Request(request.scope, replay))

        return limited
