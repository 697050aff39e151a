"""The assessment's demo steps, run over real HTTP against catalogue and assessment served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest
import uvicorn

from schuldenlab import demo_assessment
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.services import load_definition
from servicekit.service import create_app
from tests.support.harness import service_settings, token

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _served(name: str, settings):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_definition(name), settings), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_demo_reviews_and_decides_every_demo_project(fresh_database, fresh_kafka, tmp_path, capsys):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with _served("catalogue", settings) as catalogue, _served("assessment", settings) as assessment:
        async with httpx.AsyncClient() as client:
            state = {"projects": {}}
            for dossier in KNOWN_PROJECTS:
                r = await client.post(f"{catalogue}/v1/projects", json=dossier)
                state["projects"][dossier["name"]] = r.json()["id"]

        def run_demo() -> None:
            with httpx.Client(timeout=10) as sync_client:
                demo_assessment.run(sync_client, {"catalogue": catalogue, "assessment": assessment}, token, state)

        await asyncio.to_thread(run_demo)
        async with httpx.AsyncClient() as client:
            portfolio = (await client.get(f"{assessment}/v1/portfolio")).json()

    out = capsys.readouterr().out
    assert out.count("decided proven") == len(KNOWN_PROJECTS), out
    assert state["proven_projects"] == state["projects"]
    assert "evidence level effective" in out and out.count("ReassessmentDue published") == 1, out
    assert portfolio["project_count"] == len(KNOWN_PROJECTS) and portfolio["gaps"] == ["intake"]
