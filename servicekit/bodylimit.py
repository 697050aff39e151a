"""A cap on request bodies, enforced before authentication and before anything parses a body."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.config import Settings
from servicekit.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 64 * 1024


def max_body_bytes(settings: Settings, service: str) -> int:
    """The service's limit: SCHULDENLAB_<SERVICE>_MAX_BODY_BYTES, else 64 KiB; a bad value stops the start."""
    name = f"SCHULDENLAB_{service.upper()}_MAX_BODY_BYTES"
    return settings.whole(name, DEFAULT_MAX_BODY_BYTES, least=1, most=1 << 30, unit="bytes")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The HTTP server has already refused a malformed or conflicting Content-Length; anything
            # odd that still arrives is treated as undeclared and counted like a chunked body. Twenty
            # digits or more are over any limit (and more than int() converts past 4300).
            if not value.isdigit():
                return None
            return int(value) if len(value) < 20 else 10**20
    return None


class BodyLimit:
    """ASGI middleware: no request body over `max_bytes` reaches the app; beyond it, 413 as a problem.

    It wraps the whole app, so the limit holds for every route before routing, authentication or any
    parsing. A declared Content-Length over the limit is answered without reading a byte of the body;
    any other body (chunked, or within its declared length) is read here, counting, up to the limit,
    and only then handed on: the app never holds more than `max_bytes` of a request, and the client
    sending too much is stopped at the limit, not at the end of its upload.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away mid-body: nobody waits for an answer to half a request
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            # The body as one message, then the real channel again (for http.disconnect).
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body is still on its way and will not be read: the connection cannot carry
        # another request after this answer, so it is closed (RFC 9110 15.5.14 allows it).
        response = problem_response(Request(scope), 413, f"The request body is larger than {self.max_bytes} bytes",
                                    headers={"Connection": "close"})
        await response(scope, receive, send)
