"""What create_app gives every service's HTTP API: bounded bodies before authentication, text the database
cannot store refused naming the field, and an unexpected error answered as a problem over a connection
that stays usable."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter

from servicekit.service import create_app
from tests.integration.catalogue.catalogue_support import dossier
from tests.integration.runtime.probe import Behaviour, definition
from tests.integration.runtime.real_server import exchange, served
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024

# Per service: a request that creates something, its token, a body with unstorable text, the field named,
# and the table the request would have written.
CREATING = {
    "catalogue": ("/v1/projects", {}, dossier(summary="a\u0000b"), "summary", "projects"),
    "assessment": (f"/v1/assessments/{uuid.uuid4()}/reviews", auth("board", "bestuurder-1"),
                   {"criteria": {c: {"met": True} for c in ("workable", "reusable", "available")},
                    "notes": "goed\u0000"}, "notes", "reviews"),
    "partnering": ("/v1/labs", auth("lab", "kwartiermaker-kim"),
                   {"name": "Schuldenlab", "municipalities": ["Vlaardingen", "Schie\u0000dam"]}, "municipalities.1",
                   "labs"),
    "notifications": ("/v1/subscriptions", auth("integrator", "bank-x"),
                      {"url": "https://hooks.example.nl/x", "event_types": ["nl.schuldenlab.lab.formed.v1"],
                       "filter": {"municipality": "Den\u0000Haag"}}, "filter.municipality", "subscriptions"),
}


async def oversized(total: int) -> AsyncIterator[bytes]:
    piece = b" " * 8192
    for _ in range(total // len(piece)):
        yield piece


@pytest.mark.parametrize("service", list(CREATING))
async def test_every_service_bounds_bodies_before_authentication_and_refuses_unstorable_text(
        service, fresh_database, fresh_kafka, tmp_path):
    path, token, body, field, table = CREATING[service]
    json_type = {"Content-Type": "application/json"}
    async with running_service(service, service_settings(fresh_database, fresh_kafka, tmp_path)) as svc:
        declared = await svc.client.post(path, content=oversized(LIMIT + 8192),
                                         headers={**json_type, "Content-Length": str(LIMIT + 8192)})
        chunked = await svc.client.post(path, content=oversized(LIMIT + 8192), headers=json_type)
        for response in (declared, chunked):
            assert response.status_code == 413, response.text  # not 401: no token was needed to be refused
            assert response.headers["content-type"] == "application/problem+json"
            assert f"larger than {LIMIT} bytes" in response.json()["detail"]

        response = await svc.client.post(path, content=json.dumps(body), headers={**json_type, **token})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert await svc.runtime.pool.fetchval(f"SELECT count(*) FROM {table}") == 0
        assert await svc.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_each_service_takes_its_own_body_limit(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_PARTNERING_MAX_BODY_BYTES="200")
    lab = {"name": "Schuldenlab Drechtsteden", "municipalities": ["Dordrecht"]}
    async with running_service("partnering", settings) as partnering:
        headers = auth("lab", "kwartiermaker-kim")
        assert (await partnering.client.post("/v1/labs", json=lab, headers=headers)).status_code == 201
        lab["region"] = "Zuid-Holland Zuid " * 10
        response = await partnering.client.post("/v1/labs", json=lab, headers=headers)
        assert response.status_code == 413 and "larger than 200 bytes" in response.json()["detail"]


# --- an unexpected error, over a real HTTP connection ------------------------------------------------


async def test_an_unexpected_error_is_a_problem_with_an_error_id_in_one_log_line_and_the_connection_stays_open(
        fresh_database, fresh_kafka, tmp_path, caplog):
    boom = APIRouter()

    @boom.get("/v1/boom")
    async def raise_something() -> dict:
        raise RuntimeError("a bug nobody foresaw")

    probe = dataclasses.replace(definition(Behaviour()), routers=[boom])
    app = create_app(probe, service_settings(fresh_database, fresh_kafka, tmp_path))
    async with served(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            with caplog.at_level(logging.ERROR):
                status, headers, body = await exchange(reader, writer, "/v1/boom")
            assert status == 500 and headers["content-type"] == "application/problem+json"
            problem = json.loads(body)
            error_id = problem["error_id"]
            assert str(uuid.UUID(error_id)) == error_id and problem["status"] == 500
            assert "a bug nobody foresaw" not in body.decode()

            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1, [r.getMessage() for r in errors]  # not again by the server
            assert error_id in errors[0].getMessage() and errors[0].exc_info[0] is RuntimeError

            # The same connection answers the next request.
            status, _, body = await exchange(reader, writer, "/health/live")
            assert status == 200 and json.loads(body) == {"status": "ok"}
        finally:
            writer.close()
