"""The operational endpoints every service serves: health, metrics and the AsyncAPI document."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from servicekit.asyncapi import asyncapi_document
from servicekit.asyncapi_page import PAGE_CONTENT_SECURITY_POLICY, render_asyncapi_page
from servicekit.metrics import READY, REGISTRY
from servicekit.openapi import problems
from servicekit.problems import problem_response
from servicekit.service import ServiceDefinition, ServiceRuntime

OPENMETRICS = "application/openmetrics-text"


def operational_router(definition: ServiceDefinition, runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    def events_document() -> dict:
        return asyncapi_document(runtime.broker, service=definition.name, title=f"SchuldenlabNL {definition.name}",
                                 version=definition.version, description=definition.description)

    @router.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", summary="Database and broker answer",
                responses=problems(503, described={503: "Not ready: `checks` says which of database and broker "
                                                        "is failing."}))
    async def ready(request: Request) -> Response:
        checks = await runtime.readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        failing = ", ".join(f"{k} ({v})" for k, v in checks.items() if v != "ok")
        return problem_response(request, 503, f"Not ready: {failing}", checks=checks)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response,
                responses={200: {"description": "The Prometheus text format, or OpenMetrics when Accept asks for it",
                                 "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}},
                                             OPENMETRICS: {"schema": {"type": "string"}}}}})
    async def metrics(request: Request) -> Response:
        # Readiness as a metric, fresh on each scrape, so an alert rule sees a service that answers /metrics
        # but not its database or broker (each check bounded, as for /health/ready).
        for check, state in (await runtime.readiness()).items():
            READY.labels(definition.name, check).set(1 if state == "ok" else 0)
        # Prometheus asks for OpenMetrics first when it can take it (exemplars, `_created`, the `# EOF`).
        if OPENMETRICS in request.headers.get("accept", ""):
            return Response(openmetrics.generate_latest(REGISTRY), media_type=openmetrics.CONTENT_TYPE_LATEST)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the events")
    async def asyncapi_json() -> Response:
        return JSONResponse(events_document())

    @router.get("/asyncapi", summary="AsyncAPI document as a page", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        # Rendered here, with no script: nothing loaded from elsewhere, and no "try it out" publishing
        # endpoint (publishing without authentication is a hole).
        return HTMLResponse(render_asyncapi_page(events_document()),
                            headers={"Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY})

    return router
