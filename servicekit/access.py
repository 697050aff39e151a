"""The access log, the request id and the HTTP metrics: one ASGI middleware around every service's app."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit import logs, metrics

log = logging.getLogger("servicekit.access")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's (or a proxy's) request id is taken as it is when it is a plain token: UUIDs, ULIDs, trace ids.
# Anything else (too long, spaces, control characters) could forge or bloat log lines: a new id replaces it.
WELL_FORMED_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
# Methods as labels: any other (a client may send anything) is one series, not one per made-up method.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request no route matches (404, a redirect to the slash-less path): one label, whatever the path was.
UNMATCHED = "unmatched"
# Probes and scrapes come every few seconds from machines: their lines at DEBUG, so INFO is what people did.
MACHINE_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})


def request_id(scope: Scope) -> str:
    """The request's id: the caller's `X-Request-Id` where it is well formed, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and WELL_FORMED_REQUEST_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (`/v1/projects/{project_id}`), never the path itself.

    Starlette's router records the route it chose in the scope. A request answered before routing (the body
    limit's 413, a replayed Idempotency-Key answer) is matched against the app's routes here instead.
    """
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            if candidate.matches(scope)[0] is Match.FULL:
                route = candidate
                break
    return getattr(route, "path", None) or UNMATCHED


class AccessLog:
    """One line and two metrics per request, with its request id bound for every line logged meanwhile.

    The line holds the method, the route template, the status, the duration and the request id: never the
    path's ids, the query string or a body, which may hold personal data. `X-Request-Id` goes back on the
    answer, so a caller can quote it. Installed outside UnexpectedErrors (servicekit.service) so that it
    sees the status actually sent, the 500 that middleware makes of an error included.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        header = (b"x-request-id", rid.encode("ascii"))
        # Should nothing at all be sent (an error escaping every handler), the server answers 500.
        status = 500

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        started = time.perf_counter()
        with logs.bound(request_id=rid):
            try:
                await self.app(scope, receive, stamped)
            finally:
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = route_template(scope)
        metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
        metrics.HTTP_SECONDS.labels(self.service, method, route).observe(seconds)
        duration_ms = round(seconds * 1000, 1)
        log.log(logging.DEBUG if route in MACHINE_ROUTES else logging.INFO, "%s %s %s %.1f ms", method, route,
                status, duration_ms, extra={"method": method, "route": route, "status": status,
                                            "duration_ms": duration_ms})
