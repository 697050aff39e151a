"""The operational endpoints every service serves: health, metrics and the AsyncAPI document."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from servicekit.metrics import REGISTRY
from servicekit.problems import problem_response
from servicekit.service import ServiceDefinition, ServiceRuntime


def operational_router(definition: ServiceDefinition, runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])
    spec = AsyncAPI(runtime.broker, title=f"SchuldenlabNL {definition.name}", version=definition.version,
                    description=definition.description, schema_version="3.0.0")

    @router.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", summary="Database and broker answer", responses={503: {"description": "Not ready"}})
    async def ready(request: Request) -> Response:
        checks = await runtime.readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        failing = ", ".join(f"{k} ({v})" for k, v in checks.items() if v != "ok")
        return problem_response(request, 503, f"Not ready: {failing}", checks=checks)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the events")
    async def asyncapi_json() -> Response:
        return Response(spec.to_specification().to_json(), media_type="application/json")

    @router.get("/asyncapi", summary="AsyncAPI document as a page", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        # try_it_out_path=None: no publishing endpoint, publishing without authentication is a hole.
        return HTMLResponse(get_asyncapi_html(spec.to_specification(), try_it_out_path=None))

    return router
