"""The catalogue's demo step against the service served in-process on a loopback port."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn

from schuldenlab import demo_catalogue
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.services import load_definition
from servicekit.service import create_app
from tests.support.harness import auth, eventually, service_settings, token

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_demo_step_submits_every_known_project_and_keeps_ids_and_keys_for_the_next_steps(
        fresh_database, fresh_kafka, tmp_path, capsys):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_definition("catalogue"), settings),
                                           host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            async def ready() -> bool:
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=30)
            state: dict = {}
            with httpx.Client(timeout=15) as sync_client:
                # The demo is synchronous: run it in a thread so this loop keeps serving it.
                await asyncio.to_thread(demo_catalogue.run, sync_client, {"catalogue": url}, token, state)

            assert set(state["projects"]) == {p["name"] for p in KNOWN_PROJECTS}
            for name, project_id in state["projects"].items():
                shown = (await client.get(f"/v1/projects/{project_id}", headers=auth("operator"))).json()
                assert (shown["name"], shown["status"], shown["revision"]) == (name, "submitted", 1)
                own = await client.get(f"/v1/projects/{project_id}",
                                       headers={"X-Resubmission-Token": state["submitter_keys"][name]})
                assert own.status_code == 200 and own.json()["name"] == name
        out = capsys.readouterr().out
        assert f"{len(KNOWN_PROJECTS)} project(s) submitted" in out
        assert all(p["name"] in out for p in KNOWN_PROJECTS)
    finally:
        server.should_exit = True
        await serving
